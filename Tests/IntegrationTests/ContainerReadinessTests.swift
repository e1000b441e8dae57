import Foundation
import Glibc
import LBStandIn
import LBTestSupport
import Testing

/// What the image (Dockerfile, deploy/) relies on, checked on the real binary since no container engine runs
/// here: configuration from TESSERA_LB_* variables alone, a user that is not root and holds no capabilities,
/// SIGTERM ending it with status 0, and all of that together in namespaces of its own, as in a container.
///
/// The binary is the build next to the tests, or TESSERA_LB_TEST_BINARY when set: the release binary from
/// scripts/build-release, which is what the image ships.
@Suite("what the container relies on", .serialized)
struct ContainerReadinessTests {
    /// The image's user is not root; 65534 (nobody) stands in for it here.
    static let dropToUnprivileged = [
        "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
    ]

    /// The variables a container gets for two stand-in nodes and two services on free ports.
    private func variables(for group: StandInGroup, listenPorts: [Int], names: [String]) -> [String: String] {
        [
            "TESSERA_LB_NODES": group.hosts.enumerated().map { "\($1):tessera-\($0 + 1)" }.joined(separator: ","),
            "TESSERA_LB_LISTEN": "127.0.0.1",
            "TESSERA_LB_SERVICES": zip(names, zip(listenPorts, group.ports)).map { "\($0)=\($1.0):\($1.1)" }
                .joined(separator: ","),
            "TESSERA_LB_WORKERS": "2",
        ]
    }

    @Test(
        "tessera-lb run takes every setting from TESSERA_LB_* variables, with no flag and no config file",
        .timeLimit(.minutes(1))
    )
    func environmentAlone() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p"), .http(service: "q2t")])
        defer { group.stop() }
        let ports = [freePort(), freePort()]
        let environment = variables(for: group, listenPorts: ports, names: ["p2p", "q2t"])

        // What the variables gave, as the balancer reads them.
        let printed = try runCommand(
            URL(fileURLWithPath: binaryUnderTest()), ["run", "--print-config"], timeout: 20, environment: environment
        )
        #expect(printed.status == 0, "stderr: \(printed.stderr)")
        let config = try #require(
            try JSONSerialization.jsonObject(with: Data(printed.stdout.utf8)) as? [String: Any], "\(printed.stdout)"
        )
        #expect(config["listen"] as? String == "127.0.0.1")
        #expect(config["workers"] as? Int == 2)
        let nodeNames = (config["nodes"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(nodeNames == ["tessera-1", "tessera-2"], "\(printed.stdout)")
        let listenPorts = (config["services"] as? [[String: Any]])?.compactMap { $0["listenPort"] as? Int }
        #expect(listenPorts == ports, "\(printed.stdout)")

        let balancer = try ChildProcess(binaryUnderTest(), ["run"], environment: environment)
        for port in ports {
            #expect(
                balancer.waitUntilListening(host: "127.0.0.1", port: port), "listening on \(port); log: \(balancer.log)"
            )
        }
        // Each connection is balanced on its own: both nodes answer on both services within a few.
        for port in ports {
            var answered: Set<String> = []
            for _ in 0..<32 where answered.count < 2 {
                let client = try TestSocket(host: "127.0.0.1", port: port)
                let answer = try HTTPExchange.get("/transaction/abc", on: client, close: true)
                client.close()
                #expect(answer.status == 200)
                if let node = answer.node { answered.insert(node) }
            }
            #expect(answered == ["n1", "n2"], "both nodes through \(port): \(answered)")
        }
        #expect(balancer.stop(signal: SIGTERM) == 0, "log: \(balancer.log)")
    }

    @Test(
        "the service-link variables Kubernetes sets for a Service named tessera-lb are not taken for settings",
        .timeLimit(.minutes(1))
    )
    func kubernetesServiceLinks() throws {
        var environment = ["TESSERA_LB_NODES": "10.0.0.11:tessera-1,10.0.0.12:tessera-2"]
        // What the kubelet adds for `Service tessera-lb` with ports p2p, thirdparty and q2t, unless the pod
        // says enableServiceLinks: false (deploy/kubernetes/deployment.yaml does).
        environment["TESSERA_LB_SERVICE_HOST"] = "10.96.0.20"
        environment["TESSERA_LB_SERVICE_PORT"] = "9000"
        environment["TESSERA_LB_SERVICE_PORT_P2P"] = "9000"
        environment["TESSERA_LB_SERVICE_PORT_THIRDPARTY"] = "9080"
        environment["TESSERA_LB_SERVICE_PORT_Q2T"] = "9101"
        environment["TESSERA_LB_PORT"] = "tcp://10.96.0.20:9000"
        for port in [9000, 9080, 9101] {
            environment["TESSERA_LB_PORT_\(port)_TCP"] = "tcp://10.96.0.20:\(port)"
            environment["TESSERA_LB_PORT_\(port)_TCP_PROTO"] = "tcp"
            environment["TESSERA_LB_PORT_\(port)_TCP_PORT"] = "\(port)"
            environment["TESSERA_LB_PORT_\(port)_TCP_ADDR"] = "10.96.0.20"
        }
        let result = try runCommand(
            URL(fileURLWithPath: binaryUnderTest()), ["check-config"], timeout: 20, environment: environment
        )
        #expect(result.status == 0, "stderr: \(result.stderr)")
    }

    @Test(
        "as an unprivileged user with no capabilities, it forwards and splices with the default pipe size",
        .timeLimit(.minutes(1))
    )
    func unprivileged() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p"), .echo])
        defer { group.stop() }
        let ports = [freePort(), freePort()]
        var environment = variables(for: group, listenPorts: ports, names: ["p2p", "bulk"])
        environment["TESSERA_LB_FORWARD"] = "splice"
        let balancer = try ChildProcess(
            Self.dropToUnprivileged[0], Array(Self.dropToUnprivileged.dropFirst()) + [binaryUnderTest(), "run"],
            environment: environment
        )
        for port in ports {
            #expect(
                balancer.waitUntilListening(host: "127.0.0.1", port: port), "listening on \(port); log: \(balancer.log)"
            )
        }
        let status = ProcStatus(pid: balancer.pid)
        #expect(status["Uid"] == "65534\t65534\t65534\t65534", "\(status.fields)")
        #expect(status["CapEff"] == "0000000000000000" && status["CapBnd"] == "0000000000000000", "\(status.fields)")
        #expect(status["NoNewPrivs"] == "1")

        let upcheck = try TestSocket(host: "127.0.0.1", port: ports[0])
        #expect(try HTTPExchange.get("/upcheck", on: upcheck, close: true).body == "I'm up!")
        upcheck.close()
        for k in 0..<3 {
            let client = try TestSocket(host: "127.0.0.1", port: ports[1])
            let payload = TestData.bytes(count: 1 << 20, seed: UInt64(k))
            try client.send(payload)
            client.shutdownWrite()
            #expect(try client.receiveAll() == payload, "byte-exact through splice; log: \(balancer.log)")
            client.close()
        }
        // Every connection closed, so the drain after SIGTERM has nothing to wait for.
        #expect(balancer.stop(signal: SIGTERM) == 0, "log: \(balancer.log)")
    }

    @Test(
        "as an unprivileged user, tessera-lb health (HEALTHCHECK) and /healthz, /readyz (probes) tell the truth",
        .timeLimit(.minutes(1))
    )
    func unprivilegedHealth() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        let adminPort = freePort()
        let admin = "127.0.0.1:\(adminPort)"
        var environment = variables(for: group, listenPorts: [port], names: ["p2p"])
        environment["TESSERA_LB_ADMIN"] = admin
        environment["TESSERA_LB_HEALTH_INTERVAL"] = "200"
        let balancer = try ChildProcess(
            Self.dropToUnprivileged[0], Array(Self.dropToUnprivileged.dropFirst()) + [binaryUnderTest(), "run"],
            environment: environment
        )
        for port in [port, adminPort] {
            #expect(balancer.waitUntilListening(host: "127.0.0.1", port: port), "\(port); log: \(balancer.log)")
        }
        // Every admin connection gets the same socket options: one that only root may set would close each
        // one unanswered.
        for path in ["/healthz", "/readyz", "/status"] {
            let client = try TestSocket(host: "127.0.0.1", port: adminPort)
            let answer = try HTTPExchange.get(path, on: client, close: true)
            client.close()
            #expect(answer.status == 200, "GET \(path): \(answer.status) \(answer.body); log: \(balancer.log)")
        }
        // The HEALTHCHECK runs in the container as the container's user, with the container's environment.
        let health = { (arguments: [String]) throws -> CommandResult in
            try runCommand(
                URL(fileURLWithPath: Self.dropToUnprivileged[0]),
                Array(Self.dropToUnprivileged.dropFirst()) + [binaryUnderTest(), "health"] + arguments,
                timeout: 20, environment: ["TESSERA_LB_ADMIN": admin]
            )
        }
        let healthy = try health([])
        #expect(healthy.status == 0 && healthy.stdout.contains("tessera-1"), "\(healthy.stdout) \(healthy.stderr)")

        // Both nodes gone: not ready, and `health` says so; still serving, so --serving-only stays 0.
        group.stop()
        var last = healthy
        let notReady = try eventually(within: 10, every: 100) {
            last = try health([])
            return last.status == 1
        }
        #expect(notReady, "\(last.stdout) \(last.stderr)")
        #expect(last.stderr.contains("no node is up"), "\(last.stderr)")
        let serving = try health(["--serving-only"])
        #expect(serving.status == 0, "\(serving.stdout) \(serving.stderr)")
        #expect(balancer.stop(signal: SIGTERM) == 0, "log: \(balancer.log)")
    }

    @Test("SIGTERM and SIGINT end it with exit status 0", .timeLimit(.minutes(1)), arguments: [SIGTERM, SIGINT])
    func terminationSignal(signal: Int32) throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        let balancer = try ChildProcess(
            binaryUnderTest(), ["run"], environment: variables(for: group, listenPorts: [port], names: ["p2p"])
        )
        #expect(balancer.waitUntilListening(host: "127.0.0.1", port: port), "log: \(balancer.log)")
        let client = try TestSocket(host: "127.0.0.1", port: port)
        #expect(try HTTPExchange.get("/upcheck", on: client, close: true).status == 200)
        client.close()
        #expect(balancer.stop(signal: signal, seconds: 20) == 0, "log: \(balancer.log)")
    }

    @Test(
        "in namespaces of its own, as PID 1 and not root, it serves Tessera's ports from the environment alone",
        .timeLimit(.minutes(1))
    )
    func containerShaped() throws {
        let network = try ContainerNetwork()
        defer { network.remove() }
        let nodes = try startNodes(in: network)
        defer { for node in nodes { _ = node.stop(signal: SIGKILL, seconds: 5) } }
        // Only the variables the image and deploy/docker-compose.yml set.
        let balancer = try startContainer(
            in: network,
            environment: [
                "TESSERA_LB_LISTEN": "0.0.0.0",
                "TESSERA_LB_NODES": "tessera-1:tessera-1,tessera-2:tessera-2",
                "TESSERA_LB_WORKERS": "2",
            ]
        )
        for port in [9000, 9080, 9101] {
            #expect(
                balancer.waitUntilListening(host: network.balancerAddress, port: port),
                "listening on \(network.balancerAddress):\(port); log: \(balancer.log)"
            )
        }
        var pid: Int32 = 0
        #expect(eventually { pid = balancer.firstChild ?? 0; return pid > 0 }, "the balancer's process")
        let status = ProcStatus(pid: pid)
        #expect(status["Name"] == "tessera-lb", "\(status.fields)")
        #expect(status["NSpid"] == "\(pid)\t1", "PID 1 in its namespace: \(status.fields)")
        #expect(status["Uid"] == "65534\t65534\t65534\t65534", "\(status.fields)")
        #expect(status["CapEff"] == "0000000000000000" && status["CapBnd"] == "0000000000000000", "\(status.fields)")

        // Every service, on Tessera's ports, from both nodes: the stand-ins may still be starting, and the
        // probe takes a node that refused out until it answers again.
        var answered: [Int: Set<String>] = [:]
        let both = eventually(within: 15, every: 50) {
            for port in [9000, 9080, 9101] {
                guard let client = try? TestSocket(host: network.balancerAddress, port: port, timeout: 2),
                      let answer = try? HTTPExchange.get("/transaction/abc", on: client, close: true),
                      answer.status == 200, let node = answer.node
                else { continue }
                answered[port, default: []].insert(node)
            }
            return answered.values.count == 3 && answered.values.allSatisfy { $0 == ["tessera-1", "tessera-2"] }
        }
        #expect(both, "both nodes answered on 9000, 9080 and 9101: \(answered); log: \(balancer.log)")
        let upcheck = try TestSocket(host: network.balancerAddress, port: 9000)
        #expect(try HTTPExchange.get("/upcheck", on: upcheck, close: true).body == "I'm up!")
        upcheck.close()

        // The image's HEALTHCHECK, as Docker runs it: in the container's namespaces, as its user, with the
        // admin listener on its default address.
        var said = ""
        let healthy = try eventually(within: 5, every: 100) {
            let result = try health(pid: pid)
            said = result.said
            return result.status == 0
        }
        #expect(healthy, "tessera-lb health: \(said)")
        #expect(said.contains("tessera-1") && said.contains("tessera-2"), "both nodes up: \(said)")

        // SIGTERM from outside the namespaces, as `docker stop` sends it to the container's PID 1. A PID 1
        // gets no signal it has no handler for: tessera-lb waits for it, so it gets it, drains (no connection
        // is open) and exits 0, and so does unshare, which reports its child's status.
        kill(pid, SIGTERM)
        #expect(balancer.waitForExit(seconds: 20) == 0, "log: \(balancer.log)")
    }

    @Test(
        "in its container, configured by the environment and a mounted file: reload on SIGHUP under load, drain on SIGTERM",
        .timeLimit(.minutes(2)), arguments: ["epoll", "io_uring"]
    )
    func containerLifecycle(engine: String) throws {
        let network = try ContainerNetwork(nodes: 3)
        defer { network.remove() }
        let nodes = try startNodes(in: network)
        defer { for node in nodes { _ = node.stop(signal: SIGKILL, seconds: 5) } }
        // The config file, as Kubernetes mounts a ConfigMap (deploy/kubernetes): a folder the container reads,
        // its file replaced whole from outside when the ConfigMap changes. The nodes come from it, every other
        // setting from the environment.
        let folder = NSTemporaryDirectory() + "tessera-lb-configmap-\(getpid())-\(engine)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        chmod(folder, 0o755)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/tessera-lb.json"
        func writeConfig(nodes names: [String]) throws {
            let config: [String: Any] = [
                "nodes": names.map { ["host": $0, "name": $0] },
                "services": [9000, 9080, 9101, 9999].map { ["name": "s\($0)", "listenPort": $0, "nodePort": $0] },
            ]
            let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: file), options: .atomic)
            chmod(file, 0o644)
        }
        try writeConfig(nodes: ["tessera-1", "tessera-2"])
        let balancer = try startContainer(
            in: network,
            environment: [
                "TESSERA_LB_CONFIG": file,
                "TESSERA_LB_LISTEN": "0.0.0.0",
                "TESSERA_LB_WORKERS": "2",
                "TESSERA_LB_ENGINE": engine,
                "TESSERA_LB_HEALTH_INTERVAL": "200",
                "TESSERA_LB_DRAIN_TIMEOUT": "30000",
            ]
        )
        let address = network.balancerAddress
        for port in [9000, 9080, 9101, 9999] {
            #expect(balancer.waitUntilListening(host: address, port: port), "\(address):\(port); log: \(balancer.log)")
        }
        var pid: Int32 = 0
        #expect(eventually { pid = balancer.firstChild ?? 0; return pid > 0 }, "the balancer's process")
        // The start-up line follows the listeners' opening.
        #expect(eventually { balancer.log.contains("engine=\(engine) ") }, "forwarding on \(engine); log: \(balancer.log)")
        var said = ""
        #expect(try eventually(within: 10, every: 100) { let r = try health(pid: pid); said = r.said; return r.status == 0 }, "\(said)")
        #expect(said.contains("tessera-1") && said.contains("tessera-2"), "both nodes up: \(said)")

        // Long transfers opened before the reload, both nodes carrying some, and new connections all along.
        let early = try (0..<4).map { k in try EchoTransfer(host: address, port: 9999, bytes: 2 << 20, seed: UInt64(k)) }
        #expect(eventually(within: 10) { early.allSatisfy { $0.halfEchoed } }, "the first halves came back")
        let load = LoadClients(host: address, port: 9080, clients: 4, timeout: 5, maxSeconds: 40, maxRequests: 3_000)
        defer { load.stop() }
        #expect(eventually(within: 10) { load.count >= 200 }, "load runs before the reload: \(load.count)")

        // The ConfigMap changes: tessera-2 out, tessera-3 in; `docker kill -s HUP` (or a config reloader) sends
        // SIGHUP to the container's PID 1 from outside.
        try writeConfig(nodes: ["tessera-1", "tessera-3"])
        kill(pid, SIGHUP)
        #expect(eventually(within: 10) { balancer.log.contains("reloaded") }, "reloaded; log: \(balancer.log)")
        let reloadedAt = load.elapsed
        let line = balancer.log.split(separator: "\n").first { $0.contains("reloaded") }.map(String.init) ?? ""
        #expect(line.contains("nodes added: tessera-3") && line.contains("nodes removed: tessera-2"), "\(line)")
        #expect(eventually(within: 10) { load.between(reloadedAt).contains { $0.node == "tessera-3" } }, "tessera-3 takes connections")
        #expect(eventually(within: 10) { load.between(reloadedAt).count >= 300 }, "load goes on after the reload")
        said = ""
        #expect(try eventually(within: 10, every: 100) { let r = try health(pid: pid); said = r.said; return r.status == 0 && r.said.contains("tessera-3") }, "\(said)")
        load.stop()
        let outcomes = load.all
        let failures = outcomes.filter { $0.node == nil }
        #expect(failures.isEmpty, "no failed client connection across the reload: \(failures.prefix(5).map { $0.failure ?? "" })")
        // A connection started a moment before the reload may still have been given tessera-2 by the previous
        // configuration; one started a second later may not.
        #expect(!load.between(reloadedAt + 1).contains { $0.node == "tessera-2" }, "the removed node gets no new connection")

        // The transfers opened before the reload finish on the engine that accepted them, byte for byte.
        for transfer in early { transfer.sendSecondHalf() }
        for (k, transfer) in early.enumerated() {
            #expect(transfer.finish() == .exact, "transfer \(k), opened before the reload, byte-exact")
        }

        // SIGTERM with transfers half done: the listeners close at once, the transfers finish byte-exact, and
        // the balancer exits 0 as soon as they have, well inside the drain timeout.
        let late = try (0..<4).map { k in try EchoTransfer(host: address, port: 9999, bytes: 2 << 20, seed: UInt64(10 + k)) }
        #expect(eventually(within: 10) { late.allSatisfy { $0.halfEchoed } }, "the first halves came back")
        kill(pid, SIGTERM)
        let signalled = monotonicSeconds()
        #expect(eventually(within: 5) { balancer.log.contains("draining") }, "draining; log: \(balancer.log)")
        #expect(eventually(within: 5) { (try? TestSocket(host: address, port: 9000, timeout: 1)) == nil }, "listeners closed")
        #expect(balancer.waitForExit(seconds: 1) == nil, "still running while transfers are open")
        for transfer in late { transfer.sendSecondHalf() }
        for (k, transfer) in late.enumerated() {
            #expect(transfer.finish() == .exact, "transfer \(k), open at SIGTERM, byte-exact")
        }
        #expect(balancer.waitForExit(seconds: 20) == 0, "exit 0 after the drain; log: \(balancer.log)")
        #expect(monotonicSeconds() - signalled < 20, "the drain ended when the transfers did, not at its timeout")
    }

    @Test(
        "the release binary has the Swift runtime linked in and needs only libraries the image's runtime stage installs",
        .enabled(if: releaseBinaryGiven, "runs on the release binary from scripts/build-release (TESSERA_LB_TEST_BINARY; scripts/test sets it)")
    )
    func releaseBinaryLinkage() throws {
        let binary = binaryUnderTest()
        let ldd = try runCommand(URL(fileURLWithPath: "/usr/bin/ldd"), [binary], timeout: 20)
        #expect(ldd.status == 0, "\(ldd.stderr)")
        // "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)".
        let libraries: [(name: String, path: String)] = ldd.stdout.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = words.first, !first.hasPrefix("linux-vdso") else { return nil }
            if words.count >= 3 && words[1] == "=>" { return (first, words[2]) }
            return (first.components(separatedBy: "/").last ?? first, first)
        }
        #expect(libraries.count >= 3, "\(ldd.stdout)")
        let swiftRuntime = libraries.filter { $0.name.hasPrefix("libswift") || $0.name.hasPrefix("libFoundation") || $0.name.hasPrefix("libdispatch") }
        #expect(swiftRuntime.isEmpty, "the Swift runtime and Foundation are linked statically: \(swiftRuntime.map(\.name))")

        let installed = Set(try runtimePackages())
        #expect(installed.contains("liburing2"), "\(installed)")
        for library in libraries {
            // dpkg knows a file by the path its package installed; on a merged /usr that is /lib/... or
            // /usr/lib/..., whichever ldd did not say.
            var owner: String?
            for path in [library.path, "/usr" + library.path, String(library.path.dropFirst(4))] {
                let found = try runCommand(URL(fileURLWithPath: "/usr/bin/dpkg"), ["-S", path], timeout: 20)
                if found.status == 0, let package = found.stdout.split(separator: ":").first {
                    owner = String(package)
                    break
                }
            }
            let package = try #require(owner, "no package owns \(library.path)")
            #expect(installed.contains(package), "\(library.name) comes from \(package), which the runtime stage does not install: \(installed)")
        }
    }

    @Test(
        "the release binary runs and forwards in a root holding nothing but the files of the image's runtime packages",
        .enabled(if: releaseBinaryGiven, "runs on the release binary from scripts/build-release (TESSERA_LB_TEST_BINARY; scripts/test sets it)"),
        .timeLimit(.minutes(1))
    )
    func runtimePackagesSuffice() throws {
        let root = NSTemporaryDirectory() + "tessera-lb-runtime-root-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try? FileManager.default.removeItem(atPath: root)
        // The files (not the folders: those come with them) of every package the runtime stage installs, as
        // dpkg installed them here, and the binary where the image puts it. No /etc/ld.so.cache, no shell.
        let packages = try runtimePackages()
        let script = """
            set -e
            root="$1"; binary="$2"; shift 2
            # Debian 12's merged /usr, as in its images.
            mkdir -p "$root/proc" "$root/tmp" "$root/usr/local/bin" "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64"
            for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done
            dpkg -L "$@" | while IFS= read -r path; do
                if [ -L "$path" ] || [ -f "$path" ]; then
                    mkdir -p "$root$(dirname "$path")"
                    cp -a "$path" "$root$path"
                fi
            done
            install -m 0755 "$binary" "$root/usr/local/bin/tessera-lb"
            """
        let made = try runCommand(
            URL(fileURLWithPath: "/bin/sh"), ["-c", script, "sh", root, binaryUnderTest()] + packages, timeout: 60
        )
        try #require(made.status == 0, "building the root: \(made.stderr)")
        let everything = FileManager.default.enumerator(atPath: root)?.allObjects.count ?? 0
        #expect(!FileManager.default.fileExists(atPath: root + "/bin/sh"), "no shell in the root")

        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p"), .echo])
        defer { group.stop() }
        let ports = [freePort(), freePort()]
        // proc mounted, as in every container (the Swift runtime reads the arguments from it), then the binary
        // as user 65534 in the root.
        let balancer = try ChildProcess(
            "/usr/bin/unshare",
            ["--mount", "--pid", "--kill-child", "--mount-proc=\(root)/proc", "--propagation", "private",
             "/usr/sbin/chroot", "--userspec=65534:65534", root, "/usr/local/bin/tessera-lb", "run"],
            environment: variables(for: group, listenPorts: ports, names: ["p2p", "bulk"])
        )
        for port in ports {
            #expect(
                balancer.waitUntilListening(host: "127.0.0.1", port: port),
                "listening on \(port) (a root of \(everything) entries); log: \(balancer.log)"
            )
        }
        let upcheck = try TestSocket(host: "127.0.0.1", port: ports[0])
        #expect(try HTTPExchange.get("/upcheck", on: upcheck, close: true).body == "I'm up!")
        upcheck.close()
        let client = try TestSocket(host: "127.0.0.1", port: ports[1])
        let payload = TestData.bytes(count: 1 << 20, seed: 7)
        try client.send(payload)
        client.shutdownWrite()
        #expect(try client.receiveAll() == payload, "byte-exact; log: \(balancer.log)")
        client.close()
        // SIGTERM to the binary, PID 1 of its namespace (unshare, like a container engine, ignores it).
        var pid: Int32 = 0
        #expect(eventually { pid = balancer.firstChild ?? 0; return pid > 0 }, "the balancer's process")
        kill(pid, SIGTERM)
        #expect(balancer.waitForExit(seconds: 20) == 0, "exit 0; log: \(balancer.log)")
    }

    /// The packages the Dockerfile's runtime stage installs: the last `FROM`'s `apt-get install` list.
    private func runtimePackages() throws -> [String] {
        let dockerfile = try String(contentsOf: DeployTests.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let runtimeStage = try #require(dockerfile.components(separatedBy: "\nFROM ").last)
        let install = try #require(runtimeStage.range(of: "--no-install-recommends"), "\(runtimeStage)")
        let listEnd = try #require(runtimeStage.range(of: "&&", range: install.upperBound..<runtimeStage.endIndex))
        return runtimeStage[install.upperBound..<listEnd.lowerBound]
            .split(whereSeparator: { " \\\n".contains($0) }).map(String.init)
    }

    /// `tessera-lb health` as the image's HEALTHCHECK runs it: in the container's namespaces (PID `pid`'s), as
    /// its user, with the admin listener at its default address. `said` is its output, both streams.
    private func health(pid: Int32) throws -> (status: Int32, said: String) {
        let result = try runCommand(
            URL(fileURLWithPath: "/usr/bin/nsenter"),
            ["--net=/proc/\(pid)/ns/net"] + Self.dropToUnprivileged + [binaryUnderTest(), "health"],
            timeout: 20, environment: [:]
        )
        return (result.status, result.stdout + " " + result.stderr)
    }

    /// Stand-in Tessera nodes on Tessera's own ports (and an echo port, 9999, for long transfers), one per
    /// address of the nodes' network namespace, named tessera-1, tessera-2, ...
    private func startNodes(in network: ContainerNetwork) throws -> [ChildProcess] {
        try network.nodeAddresses.enumerated().map { k, address in
            try ChildProcess(
                "/usr/bin/nsenter",
                ["--net=\(network.nodesNamespacePath)", binaryUnderTest(), "stand-in", "--host", address,
                 "--name", "tessera-\(k + 1)", "--port", "p2p=9000", "--port", "thirdparty=9080", "--port", "q2t=9101",
                 "--echo-port", "9999"],
                environment: [:]
            )
        }
    }

    /// `tessera-lb run` as a container runs it: its own network, PID and mount namespaces, the nodes' names in
    /// its /etc/hosts (as Docker's and Kubernetes' DNS would give them), a read-only root file system, user
    /// 65534 with no capabilities, no flag, and only `environment` (and PATH).
    private func startContainer(in network: ContainerNetwork, environment: [String: String]) throws -> ChildProcess {
        let script = """
            set -e
            mount --bind "$1" /etc/hosts
            mount -o remount,bind,ro /
            exec /usr/bin/nsenter --net="$2" \(Self.dropToUnprivileged.joined(separator: " ")) "$3" run
            """
        return try ChildProcess(
            "/usr/bin/unshare",
            ["--mount", "--pid", "--kill-child", "--mount-proc", "--propagation", "private", "/bin/sh", "-c", script, "sh",
             network.hostsFile, network.balancerNamespacePath, binaryUnderTest()],
            environment: environment.merging(["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]) { a, _ in a }
        )
    }
}

/// Whether TESSERA_LB_TEST_BINARY names the binary under test (scripts/test sets it to the release build).
private let releaseBinaryGiven = !(ProcessInfo.processInfo.environment["TESSERA_LB_TEST_BINARY"] ?? "").isEmpty

/// The binary under test: TESSERA_LB_TEST_BINARY when set, else the build next to the tests.
private func binaryUnderTest() -> String {
    if let path = ProcessInfo.processInfo.environment["TESSERA_LB_TEST_BINARY"], !path.isEmpty { return path }
    return tesseraLBExecutable().path
}

/// A process started with exactly the given environment, nothing inherited, its output collected.
/// (BalancerProcess takes no environment.)
private final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()
    private let lock = NSLock()
    private var collected = Data()

    init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.withLock { self.collected.append(data) }
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var log: String { lock.withLock { String(decoding: collected, as: UTF8.self) } }

    /// The first child of this process (unshare --fork's child), from /proc.
    var firstChild: Int32? {
        let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)
        return text?.split(separator: " ").first.flatMap { Int32($0) }
    }

    /// Waits until `host:port` accepts connections, or the process ends, or `seconds` pass.
    func waitUntilListening(host: String, port: Int, seconds: Double = 10) -> Bool {
        eventually(within: seconds, every: 20) {
            (try? TestSocket(host: host, port: port, timeout: 1)) != nil || !process.isRunning
        } && process.isRunning
    }

    /// The exit status once the process has ended within `seconds`, else nil.
    func waitForExit(seconds: Double) -> Int32? {
        guard eventually(within: seconds, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    /// Sends `signal` and waits for the exit status (SIGKILL and nil after `seconds`).
    func stop(signal: Int32, seconds: Double = 10) -> Int32? {
        if process.isRunning { kill(pid, signal) }
        if let status = waitForExit(seconds: seconds) { return status }
        kill(pid, SIGKILL)
        process.waitUntilExit()
        return nil
    }

    deinit {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        output.fileHandleForReading.readabilityHandler = nil
    }
}

/// The fields of /proc/PID/status, by name.
private struct ProcStatus {
    let fields: [String: String]

    init(pid: Int32) {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.fields = fields
    }

    subscript(name: String) -> String? { fields[name] }
}

/// A container's network, made of network namespaces: the balancer's, reached from the test as through a
/// published port (a veth pair from this namespace), and the nodes', reached from the balancer's over another
/// veth pair. Addresses come from 198.18.0.0/15, the range set aside for network tests (RFC 2544).
private final class ContainerNetwork {
    let balancerNamespace: String
    let nodesNamespace: String
    let balancerAddress: String
    let nodeAddresses: [String]
    let hostsFile: String
    private let hostLink: String

    var balancerNamespacePath: String { "/run/netns/\(balancerNamespace)" }
    var nodesNamespacePath: String { "/run/netns/\(nodesNamespace)" }

    /// - Parameter nodes: how many node addresses (tessera-1, tessera-2, ...) the nodes' namespace gets.
    init(nodes: Int = 2) throws {
        let id = getpid()
        let subnet = Int(id) % 250 + 1
        balancerNamespace = "tlb-ctr-lb-\(id)"
        nodesNamespace = "tlb-ctr-nodes-\(id)"
        hostLink = "tlbh\(id)"
        balancerAddress = "198.18.\(subnet).2"
        nodeAddresses = (0..<nodes).map { "198.19.\(subnet).\(11 + $0)" }
        hostsFile = NSTemporaryDirectory() + "tessera-lb-hosts-\(id)"
        let lb = balancerNamespace, nodes = nodesNamespace
        let toBalancer = "tlbb\(id)", balancerToNodes = "tlbl\(id)", toNodes = "tlbn\(id)"
        remove()
        let steps: [[String]] = [
            ["netns", "add", lb],
            ["netns", "add", nodes],
            ["link", "add", hostLink, "type", "veth", "peer", "name", toBalancer, "netns", lb],
            ["addr", "add", "198.18.\(subnet).1/24", "dev", hostLink],
            ["link", "set", hostLink, "up"],
            ["-n", lb, "link", "set", "lo", "up"],
            ["-n", lb, "addr", "add", "\(balancerAddress)/24", "dev", toBalancer],
            ["-n", lb, "link", "set", toBalancer, "up"],
            ["-n", lb, "link", "add", balancerToNodes, "type", "veth", "peer", "name", toNodes, "netns", nodes],
            ["-n", lb, "addr", "add", "198.19.\(subnet).10/24", "dev", balancerToNodes],
            ["-n", lb, "link", "set", balancerToNodes, "up"],
            ["-n", nodes, "link", "set", "lo", "up"],
        ] + nodeAddresses.map { ["-n", nodes, "addr", "add", "\($0)/24", "dev", toNodes] } + [
            ["-n", nodes, "link", "set", toNodes, "up"],
        ]
        do {
            for step in steps {
                let result = try runCommand(URL(fileURLWithPath: "/usr/sbin/ip"), step, timeout: 10)
                guard result.status == 0 else {
                    throw TestSocket.Failure(description: "ip \(step.joined(separator: " ")): \(result.stderr)")
                }
            }
            let hosts = "127.0.0.1 localhost\n"
                + nodeAddresses.enumerated().map { "\($1) tessera-\($0 + 1)\n" }.joined()
            try hosts.write(toFile: hostsFile, atomically: true, encoding: .utf8)
            chmod(hostsFile, 0o644)
        } catch {
            remove()
            throw error
        }
    }

    /// Deletes the namespaces (and with them the veth pairs) and the hosts file; what is not there is skipped.
    func remove() {
        for namespace in [balancerNamespace, nodesNamespace] {
            _ = try? runCommand(URL(fileURLWithPath: "/usr/sbin/ip"), ["netns", "del", namespace], timeout: 10)
        }
        _ = try? runCommand(URL(fileURLWithPath: "/usr/sbin/ip"), ["link", "del", hostLink], timeout: 10)
        unlink(hostsFile)
    }
}
