import Foundation
import Glibc
import LBTestSupport
import Testing

/// deploy/ run for real with podman on the image (scripts/build-image): the Kubernetes manifests with
/// `podman kube play`, the compose example with podman-compose. Tessera and PostgreSQL cannot be pulled here, so
/// their places are taken by stand-in nodes run from the same image (`tessera-lb stand-in`).
@Suite("deploy/ with podman", .serialized, .enabled(if: Podman.available, "podman is not installed (scripts/install-deps test installs it, so CI runs these tests)"))
struct ImageDeployTests {
    /// An image that runs the stand-in Tessera node (`tessera-lb stand-in` on every address, Tessera's three
    /// ports) from the image under test, for the places of the Tessera image (and PostgreSQL's).
    static let standInImage: Result<String, any Error> = Result {
        let image = try TestImage.reference()
        let context = NSTemporaryDirectory() + "tessera-lb-standin-image-\(getpid())"
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: context) }
        try """
            FROM \(image)
            HEALTHCHECK NONE
            ENTRYPOINT ["tessera-lb", "stand-in", "--host", "0.0.0.0"]
            CMD []
            """.write(toFile: context + "/Containerfile", atomically: true, encoding: .utf8)
        let reference = "localhost/tessera-lb-standin:test"
        _ = try Podman.output(["build", "--format", "docker", "--tag", reference, context], timeout: 300)
        return reference
    }

    /// GET `path` from `host:port` on a connection of its own.
    static func get(_ path: String, host: String, port: Int) -> HTTPExchange? {
        guard let socket = try? TestSocket(host: host, port: port, timeout: 2) else { return nil }
        defer { socket.close() }
        return try? HTTPExchange.get(path, on: socket, close: true)
    }

    /// Which nodes answered `count` requests through `host:port`: GET /send, which the stand-in answers with
    /// its name (`HTTPExchange.node`; the paths about the group, /partyinfo and /keys, are answered as Tessera
    /// does, without it).
    static func answering(host: String, port: Int, count: Int = 8) -> Set<String> {
        Set((0..<count).compactMap { _ in get("/send", host: host, port: port)?.node })
    }

    // MARK: - Kubernetes

    @Test(
        "podman kube play starts deploy/kubernetes (Deployment, its ConfigMap, the admin token Secret) in front of stand-in node pods: the pod becomes ready, serves both nodes, and runs as the manifest says",
        .timeLimit(.minutes(5))
    )
    func kubePlay() throws {
        try leavingNoConnectionTracking { try playKube() }
    }

    private func playKube() throws {
        let image = try TestImage.reference()
        let standIn = try Self.standInImage.get()
        let network = try BridgeNetwork(name: "tlb-test-kube", subnet: "198.19.252.0/24")
        defer { network.remove() }
        // The nodes: two stand-in containers on the test's network, in the places of the Services tessera-1 and
        // tessera-2, which the ConfigMap names.
        let nodes = try (1...2).map { k in
            try Container(name: Podman.uniqueName("kube-node-\(k)"), ["--network", network.name, standIn, "--name", "tessera-\(k)"])
        }
        defer { for node in nodes { node.remove() } }
        let addresses = try nodes.map { try $0.address() }

        // The ConfigMap, with the nodes' addresses for the Service names (podman has no cluster DNS); the
        // Deployment as shipped, with the image under test if it is not the one it names.
        let folder = DeployTests.root.appendingPathComponent("deploy/kubernetes")
        var configMap = try String(contentsOf: folder.appendingPathComponent("configmap.yaml"), encoding: .utf8)
        for (k, address) in addresses.enumerated() {
            let host = "\"host\": \"tessera-\(k + 1)\""
            try #require(configMap.contains(host), "configmap.yaml names the node \(host)")
            configMap = configMap.replacingOccurrences(of: host, with: "\"host\": \"\(address)\"")
        }
        var deployment = try String(contentsOf: folder.appendingPathComponent("deployment.yaml"), encoding: .utf8)
        try #require(deployment.contains("image: tessera-lb:latest"))
        // One replica: podman 4.3 publishes every containerPort on the host (below), where a second pod cannot
        // bind the same ports again (a cluster gives each pod its own address and publishes nothing).
        try #require(deployment.contains("\n  replicas: 2\n"))
        deployment = deployment.replacingOccurrences(of: "\n  replicas: 2\n", with: "\n  replicas: 1\n")
        if image != "localhost/tessera-lb:latest" {
            deployment = deployment.replacingOccurrences(of: "image: tessera-lb:latest", with: "image: \(image)")
        }
        // And it publishes a containerPort without a hostPort on the same port of every host address, where
        // another test's balancer (its admin listener's default is 9990) or a leftover may hold it: each port
        // published on a free loopback port instead.
        let hostPorts = distinctFreePorts(4)
        for (containerPort, hostPort) in zip([9000, 9080, 9101, 9990], hostPorts) {
            let line = "              containerPort: \(containerPort)\n"
            try #require(deployment.contains(line), "deployment.yaml has containerPort \(containerPort)")
            deployment = deployment.replacingOccurrences(
                of: line, with: line + "              hostIP: 127.0.0.1\n              hostPort: \(hostPort)\n"
            )
        }
        let kubeFile = NSTemporaryDirectory() + "tessera-lb-kube-\(getpid()).yaml"
        try (deployment + "\n---\n" + configMap).write(toFile: kubeFile, atomically: true, encoding: .utf8)
        defer { unlink(kubeFile) }

        // The Secret that `kubectl create secret generic tessera-lb-admin --from-literal=token=...` makes, in the
        // form podman 4.3 takes for a secretKeyRef: a JSON object of base64 values.
        let token = "kube-play-test-\(getpid())"
        let secretFile = NSTemporaryDirectory() + "tessera-lb-kube-secret-\(getpid()).json"
        try "{\"token\": \"\(Data(token.utf8).base64EncodedString())\"}".write(toFile: secretFile, atomically: true, encoding: .utf8)
        defer { unlink(secretFile) }
        _ = try? Podman.run(["secret", "rm", "tessera-lb-admin"])
        _ = try Podman.output(["secret", "create", "tessera-lb-admin", secretFile])
        defer { _ = try? Podman.run(["secret", "rm", "tessera-lb-admin"]) }

        let played = try Podman.run(["kube", "play", "--replace", "--network", network.name, kubeFile], timeout: 180)
        defer { _ = try? Podman.run(["kube", "down", kubeFile], timeout: 120) }
        try #require(played.status == 0, "podman kube play: \(played.stdout) \(played.stderr)")
        let pods = try Podman.output(["pod", "ps", "--filter", "label=app.kubernetes.io/name=tessera-lb", "--format", "{{.Name}}"])
            .split(separator: "\n").map(String.init)
        #expect(pods.count == 1, "the Deployment's pod: \(pods)")
        for pod in pods {
            try checkPod(pod, nodes: addresses, token: token)
            let published = try Podman.output(["pod", "inspect", "--format", "{{.InfraContainerID}}", pod])
            #expect(
                try Podman.output(["port", published]).split(separator: "\n").map(String.init).sorted()
                    == zip([9000, 9080, 9101, 9990], hostPorts).map { "\($0)/tcp -> 127.0.0.1:\($1)" }.sorted(),
                "published on the free loopback ports only"
            )
        }
    }

    /// One pod of the Deployment: ready, serving both nodes, and running as the manifest says.
    private func checkPod(_ pod: String, nodes: [String], token: String) throws {
        let container = try Podman.output(["ps", "--filter", "pod=\(pod)", "--filter", "name=tessera-lb$", "--format", "{{.Names}}"])
        try #require(!container.isEmpty, "the tessera-lb container of \(pod)")
        let infra = try Podman.output(["pod", "inspect", "--format", "{{.InfraContainerID}}", pod])
        let podAddress = try Podman.output(["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", infra])
        try #require(!podAddress.isEmpty, "the address of \(pod)")
        func logs() -> String { ((try? Podman.run(["logs", container])).map { $0.stdout + $0.stderr }) ?? "" }

        // Ready as the kubelet's readinessProbe sees it (GET /readyz on port admin): podman does not run
        // readiness probes, so the test does.
        let ready = eventually(within: 60, every: 250) { Self.get("/readyz", host: podAddress, port: 9990)?.status == 200 }
        #expect(ready, "\(pod): GET /readyz at \(podAddress):9990; log: \(logs())")
        #expect(Self.get("/healthz", host: podAddress, port: 9990)?.status == 200, "the livenessProbe's /healthz")
        // P2P's /upcheck, and ThirdParty (9080) to both nodes.
        #expect(Self.get("/upcheck", host: podAddress, port: 9000)?.body == "I'm up!")
        #expect(
            Self.answering(host: podAddress, port: 9080)
                == ["tessera-1", "tessera-2"],
            "\(pod): log: \(logs())"
        )

        // As the manifest says: runAsUser 10001, readOnlyRootFilesystem, every capability dropped, no privilege
        // escalation, RuntimeDefault seccomp (so epoll), the token from the Secret, the ConfigMap's file.
        let pid = try #require(Int32(try Podman.output(["inspect", "--format", "{{.State.Pid}}", container])))
        let status = ProcStatus(pid: pid)
        #expect(status["Uid"] == "10001\t10001\t10001\t10001", "\(status.fields)")
        #expect(status["CapEff"] == "0000000000000000", "\(status.fields)")
        #expect(status["NoNewPrivs"] == "1", "allowPrivilegeEscalation: false")
        #expect(status["Seccomp"] == "2", "\(status.fields)")
        #expect(rootIsReadOnly(pid: pid) == true)
        #expect(logs().contains("engine=epoll"), "\(logs())")
        let environment = try Podman.output(["inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", container])
        #expect(environment.contains("TESSERA_LB_ADMIN_TOKEN=\(token)\n"), "the token from the Secret")
        #expect(environment.contains("TESSERA_LB_CONFIG=/etc/tessera-lb/tessera-lb.json\n"))
        let mounted = try String(contentsOfFile: "/proc/\(pid)/root/etc/tessera-lb/tessera-lb.json", encoding: .utf8)
        #expect(mounted.contains("\"host\": \"\(nodes[0])\""), "the ConfigMap, mounted")
        // The node control endpoint wants the token from the Secret.
        let control = try TestSocket(host: podAddress, port: 9990)
        try control.send("POST /nodes/tessera-1/drain HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        #expect(try HTTPExchange.read(from: control).status == 401)
        control.close()
    }

    // MARK: - docker compose

    /// The compose project's network (BridgeNetwork's range; the kube test's is 198.19.252.0/24).
    static let composeSubnet = "198.19.253.0/24"

    @Test(
        "podman-compose runs deploy/docker-compose.yml with stand-in nodes in the places of Tessera and PostgreSQL: the balancer serves both nodes on the published ports, turns healthy, and stops with status 0",
        .enabled(if: Podman.compose != nil, "podman-compose is not installed (scripts/install-deps test installs it from PyPI)"),
        .timeLimit(.minutes(5))
    )
    func compose() throws {
        try leavingNoConnectionTracking { try composeUp() }
    }

    private func composeUp() throws {
        let image = try TestImage.reference()
        let standIn = try Self.standInImage.get()
        // A copy of deploy/ with README's three set-up steps done by placeholders (the key pair, the JDBC
        // driver, the schema: neither Tessera nor PostgreSQL runs here), the image under test as the file's
        // tessera-lb:local, and an override file that puts the stand-in image in the places of Tessera's and
        // PostgreSQL's, and the file descriptor limit at this host's (runc does not raise it past the host's).
        let work = NSTemporaryDirectory() + "tessera-lb-compose-\(getpid())"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let deploy = work + "/deploy"
        try FileManager.default.copyItem(atPath: DeployTests.root.appendingPathComponent("deploy").path, toPath: deploy)
        // The example publishes Tessera's ports on the host, as it would in production: in the copy, on free
        // ports of the host instead (another test's balancer or a leftover may hold 9000, the default P2P port).
        let hostPorts = distinctFreePorts(3)
        var file = try String(contentsOfFile: deploy + "/docker-compose.yml", encoding: .utf8)
        for (shipped, free) in zip(["\"9000:9000\"", "\"127.0.0.1:9080:9080\"", "\"127.0.0.1:9101:9101\""], hostPorts) {
            try #require(file.contains("- \(shipped)\n"), "docker-compose.yml publishes \(shipped)")
            let containerPort = shipped.dropFirst().dropLast().split(separator: ":").last!
            let host = shipped.hasPrefix("\"127.0.0.1:") ? "127.0.0.1:" : ""
            file = file.replacingOccurrences(of: "- \(shipped)\n", with: "- \"\(host)\(free):\(containerPort)\"\n")
        }
        try file.write(toFile: deploy + "/docker-compose.yml", atomically: true, encoding: .utf8)
        for folder in ["drivers", "keys"] {
            try FileManager.default.createDirectory(atPath: deploy + "/tessera/" + folder, withIntermediateDirectories: true)
        }
        for placeholder in ["tessera/drivers/postgresql.jar", "tessera/postgresql-ddl.sql", "tessera/keys/tm.key", "tessera/keys/tm.pub"] {
            _ = FileManager.default.createFile(atPath: deploy + "/" + placeholder, contents: Data())
        }
        _ = try Podman.output(["tag", image, "localhost/tessera-lb:local"])
        // The example's 65536 descriptors where the host allows them. A service's own ulimits replace
        // containers.conf's defaults, so nproc goes with it (PodmanHarness.swift says why 4096).
        var files = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files)
        let nofile = min(files.rlim_max, 65536)
        try """
            services:
              db:
                image: \(standIn)
                command: ["--name", "db"]
              tessera-1:
                image: \(standIn)
                command: ["--name", "tessera-1"]
              tessera-2:
                image: \(standIn)
                command: ["--name", "tessera-2"]
              tessera-lb:
                ulimits:
                  nofile:
                    soft: \(nofile)
                    hard: \(nofile)
                  nproc: 4096
            # The project's network on a subnet of the range for network tests (BridgeNetwork says why).
            networks:
              default:
                ipam:
                  config:
                    - subnet: \(Self.composeSubnet)
            """.write(toFile: deploy + "/stand-ins.yml", atomically: true, encoding: .utf8)

        let project = Podman.uniqueName("compose")
        func compose(_ arguments: [String], timeout: Double = 180) throws -> CommandResult {
            try Podman.runWithOutputInFiles(
                Podman.compose!, ["--project-name", project, "-f", "docker-compose.yml", "-f", "stand-ins.yml"] + arguments,
                timeout: timeout, directory: deploy
            )
        }
        BridgeNetwork.removeTestNetworks(onSubnet: Self.composeSubnet)
        let up = try compose(["up", "-d", "--no-build"])
        defer {
            _ = try? compose(["down", "-v", "-t", "0"])
            _ = try? Podman.run(["network", "rm", "-f", "\(project)_default"])
        }
        try #require(up.status == 0, "podman-compose up: \(up.stdout.suffix(3000)) \(up.stderr.suffix(3000))")
        let balancer = try Podman.output([
            "ps", "--filter", "label=com.docker.compose.project=\(project)", "--filter", "label=com.docker.compose.service=tessera-lb",
            "--format", "{{.Names}}",
        ])
        try #require(!balancer.isEmpty, "the tessera-lb container: \(up.stdout)")
        func logs() -> String { ((try? Podman.run(["logs", balancer])).map { $0.stdout + $0.stderr }) ?? "" }

        // The ports as the file publishes them: P2P on every address, ThirdParty and Q2T on loopback.
        let published = try Podman.output(["port", balancer]).split(separator: "\n").map(String.init).sorted()
        #expect(
            published == ["9000/tcp -> 0.0.0.0:\(hostPorts[0])", "9080/tcp -> 127.0.0.1:\(hostPorts[1])", "9101/tcp -> 127.0.0.1:\(hostPorts[2])"],
            "\(published)"
        )
        // Through the balancer to both nodes, by their compose names (the network's DNS): at the container's
        // address, and through the published ports on loopback unless this host bypasses connection tracking on
        // lo (a `notrack` rule, as benchmarks set), which podman's port forwarding (DNAT) needs.
        let address = try Podman.output(["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", balancer])
        var routes = [(address, [9000, 9080, 9101])]
        let ruleset = (try? runCommand(URL(fileURLWithPath: "/usr/sbin/nft"), ["list", "ruleset"], timeout: 20).stdout) ?? ""
        if !ruleset.contains("iif \"lo\" notrack") { routes.append(("127.0.0.1", hostPorts)) }
        for (host, ports) in routes {
            #expect(
                eventually(within: 60, every: 250) { Self.get("/upcheck", host: host, port: ports[0])?.body == "I'm up!" },
                "P2P /upcheck at \(host):\(ports[0]); log: \(logs())"
            )
            #expect(
                eventually(within: 30, every: 250) {
                    Self.answering(host: host, port: ports[1]) == ["tessera-1", "tessera-2"]
                },
                "ThirdParty at \(host):\(ports[1]) reaches both nodes; log: \(logs())"
            )
            #expect(Self.get("/upcheck", host: host, port: ports[2])?.body == "I'm up!", "Q2T at \(host):\(ports[2])")
        }
        // The compose file's healthcheck (tessera-lb health), run by podman.
        var said = ""
        let healthy = try eventually(within: 30, every: 500) {
            let check = try Podman.run(["healthcheck", "run", balancer], timeout: 30)
            said = check.stdout + check.stderr
            return check.status == 0
        }
        #expect(healthy, "podman healthcheck run: \(said)")
        // stop_grace_period: 35s; SIGTERM, the drain (no connection open), exit 0.
        let stopped = try compose(["stop", "tessera-lb"], timeout: 60)
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(try Podman.output(["inspect", "--format", "{{.State.ExitCode}}", balancer]) == "0", "log: \(logs())")
        #expect(logs().contains("draining"), "\(logs())")
    }
}
