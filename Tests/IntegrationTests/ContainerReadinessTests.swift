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
    @Test(
        "tessera-lb run takes every setting from TESSERA_LB_* variables, with no flag and no config file",
        .timeLimit(.minutes(1))
    )
    func environmentAlone() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p"), .http(service: "q2t")])
        defer { group.stop() }
        let ports = [freePort(), freePort()]
        let environment = containerVariables(for: group, listenPorts: ports, names: ["p2p", "q2t"])

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
        var environment = containerVariables(for: group, listenPorts: ports, names: ["p2p", "bulk"])
        environment["TESSERA_LB_FORWARD"] = "splice"
        let balancer = try ChildProcess(
            dropToUnprivileged[0], Array(dropToUnprivileged.dropFirst()) + [binaryUnderTest(), "run"],
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
        var environment = containerVariables(for: group, listenPorts: [port], names: ["p2p"])
        environment["TESSERA_LB_ADMIN"] = admin
        environment["TESSERA_LB_HEALTH_INTERVAL"] = "200"
        let balancer = try ChildProcess(
            dropToUnprivileged[0], Array(dropToUnprivileged.dropFirst()) + [binaryUnderTest(), "run"],
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
                URL(fileURLWithPath: dropToUnprivileged[0]),
                Array(dropToUnprivileged.dropFirst()) + [binaryUnderTest(), "health"] + arguments,
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
            binaryUnderTest(), ["run"], environment: containerVariables(for: group, listenPorts: [port], names: ["p2p"])
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
        let pid = try #require(balancer.waitForFirstChild(), "the balancer's process")
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
        let (healthy, said) = try containerHealthy(pid: pid, naming: ["tessera-1", "tessera-2"], within: 5)
        #expect(healthy, "tessera-lb health exits 0 with both nodes up: \(said)")

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
        let pid = try #require(balancer.waitForFirstChild(), "the balancer's process")
        // The start-up line follows the listeners' opening.
        #expect(eventually { balancer.log.contains("engine=\(engine) ") }, "forwarding on \(engine); log: \(balancer.log)")
        let (healthy, said) = try containerHealthy(pid: pid, naming: ["tessera-1", "tessera-2"])
        #expect(healthy, "tessera-lb health exits 0 with both nodes up: \(said)")

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
        let (healthyAfter, saidAfter) = try containerHealthy(pid: pid, naming: ["tessera-3"])
        #expect(healthyAfter, "tessera-lb health names the added node: \(saidAfter)")
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
}
