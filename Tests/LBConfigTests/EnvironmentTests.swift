import LBBalancing
import LBConfig
import Testing

@Suite("TESSERA_LB_ environment variables")
struct EnvironmentTests {
    @Test("every single-valued setting has a variable named after its flag")
    func everySetting() throws {
        let ca = try temporaryFile(), certificate = try temporaryFile(), key = try temporaryFile()
        let config = try loadIsolated(file: nil, overrides: ConfigOverrides(), environment: [
            "TESSERA_LB_NODES": "10.0.0.1:a, [::1]:b",
            "TESSERA_LB_SERVICES": "p2p=19000:9000,q2t=unix:/run/tm.ipc:9101",
            "TESSERA_LB_LISTEN": "127.0.0.1",
            "TESSERA_LB_WORKERS": "3",
            "TESSERA_LB_BALANCE": "leastconn",
            "TESSERA_LB_MAX_CONNS": "100",
            "TESSERA_LB_CONNECT_TIMEOUT": "700",
            "TESSERA_LB_IDLE_TIMEOUT": "60000",
            "TESSERA_LB_MAX_FAILS": "0",
            "TESSERA_LB_FAIL_TIMEOUT": "9000",
            "TESSERA_LB_FORWARD": "copy",
            "TESSERA_LB_ENGINE": "io_uring",
            "TESSERA_LB_PIPE_SIZE": "8192",
            "TESSERA_LB_NODE_USER_TIMEOUT": "20000",
            "TESSERA_LB_NODE_KEEPALIVE": "15",
            "TESSERA_LB_ALL_DOWN": "least-recently-failed",
            "TESSERA_LB_HEALTH": "true",
            "TESSERA_LB_HEALTH_PORT": "9080",
            "TESSERA_LB_HEALTH_PATH": "/version",
            "TESSERA_LB_HEALTH_STATUS": "200",
            "TESSERA_LB_HEALTH_BODY": "21.",
            "TESSERA_LB_HEALTH_INTERVAL": "2500",
            "TESSERA_LB_HEALTH_FAST_INTERVAL": "250",
            "TESSERA_LB_HEALTH_TIMEOUT": "900",
            "TESSERA_LB_HEALTH_RISE": "5",
            "TESSERA_LB_HEALTH_FALL": "6",
            "TESSERA_LB_HEALTH_INITIAL": "down",
            "TESSERA_LB_HEALTH_SCOPE": "service",
            "TESSERA_LB_ON_MARKED_DOWN": "keep",
            "TESSERA_LB_HEALTH_CA": ca.path,
            "TESSERA_LB_HEALTH_CERT": certificate.path,
            "TESSERA_LB_HEALTH_KEY": key.path,
            "TESSERA_LB_HEALTH_SERVER_NAME": "lb",
            "TESSERA_LB_HEALTH_INSECURE": "false",
        ])
        #expect(config.nodes == [BalancerConfig.Node(host: "10.0.0.1", name: "a"), BalancerConfig.Node(host: "::1", name: "b")])
        #expect(config.services == [
            BalancerConfig.Service(name: "p2p", listenPort: 19000, nodePort: 9000),
            BalancerConfig.Service(name: "q2t", listenPort: 0, nodePort: 9101, listenPath: "/run/tm.ipc"),
        ])
        #expect(config.listenAddress == "127.0.0.1")
        #expect(config.workers == 3)
        #expect(config.balance == .leastconn)
        #expect(config.maxConnections == 100)
        #expect(config.connectTimeoutMs == 700)
        #expect(config.idleTimeoutMs == 60_000)
        #expect(config.maxFails == 0)
        #expect(config.failTimeoutMs == 9000)
        #expect(config.forward == .copy)
        #expect(config.engine == .ioUring)
        #expect(config.pipeSize == 8192)
        #expect(config.nodeUserTimeoutMs == 20_000)
        #expect(config.nodeKeepaliveSeconds == 15)
        #expect(config.allDown == .leastRecentlyFailed)
        let health = config.health
        #expect(health.enabled)
        #expect(health.port == 9080)
        #expect(health.path == "/version")
        #expect(health.expectBody == "21.")
        #expect((health.intervalMs, health.fastIntervalMs, health.timeoutMs) == (2500, 250, 900))
        #expect((health.rise, health.fall) == (5, 6))
        #expect(health.initialState == .down)
        #expect(health.scope == .service)
        #expect(health.onMarkedDown == .keep)
        #expect(health.tls?.caFile == ca.path)
        #expect(health.tls?.certificateFile == certificate.path)
        #expect(health.tls?.keyFile == key.path)
        #expect(health.tls?.serverName == "lb")
        #expect(health.tls?.insecure == false)
    }

    @Test("the environment overrides the file, and flags override the environment")
    func precedence() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "workers": 2, "maxConns": 10, "balance": "leastconn"}"#)
        let config = try loadIsolated(
            file: file.path, overrides: ConfigOverrides(["--max-conns": "30"]),
            environment: ["TESSERA_LB_WORKERS": "4", "TESSERA_LB_MAX_CONNS": "20"]
        )
        #expect(config.workers == 4)
        #expect(config.maxConnections == 30)
        #expect(config.balance == .leastconn)
    }

    @Test("TESSERA_LB_NODES replaces the file's nodes and --node replaces TESSERA_LB_NODES")
    func nodeLists() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"]}"#)
        let environment = ["TESSERA_LB_NODES": "10.0.0.2,10.0.0.3"]
        #expect(try loadIsolated(file: file.path, overrides: ConfigOverrides(), environment: environment).nodes.map(\.host) ==
            ["10.0.0.2", "10.0.0.3"])
        #expect(try loadIsolated(file: file.path, overrides: ConfigOverrides(nodes: ["10.0.0.4"]), environment: environment)
            .nodes.map(\.host) == ["10.0.0.4"])
    }

    @Test("TESSERA_LB_CONFIG names the file when --config is not given, and --config wins over it")
    func configFile() throws {
        let fromEnvironment = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "workers": 5}"#)
        let fromFlag = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "workers": 6}"#)
        let environment = ["TESSERA_LB_CONFIG": fromEnvironment.path]
        #expect(try loadIsolated(file: nil, overrides: ConfigOverrides(), environment: environment).workers == 5)
        #expect(try loadIsolated(file: fromFlag.path, overrides: ConfigOverrides(), environment: environment).workers == 6)
    }

    @Test("variables without the prefix are ignored")
    func otherVariables() throws {
        #expect(try loadIsolated(file: nil, overrides: oneNode, environment: ["PATH": "/bin", "TESSERA_WORKERS": "x"]).workers == nil)
    }

    @Test("a bad variable is named in the error", arguments: [
        (["TESSERA_LB_WORKERS": "x"], #"invalid TESSERA_LB_WORKERS "x": must be an integer between 1 and 256"#),
        (["TESSERA_LB_WORKERS": ""], #"invalid TESSERA_LB_WORKERS "": must be an integer between 1 and 256"#),
        (["TESSERA_LB_HEALTH": "off"], #"invalid TESSERA_LB_HEALTH "off": must be true or false"#),
        (["TESSERA_LB_HEALTH_INTERVAL": "5"],
         #"invalid TESSERA_LB_HEALTH_INTERVAL "5": must be between 10 and 3600000 milliseconds"#),
        (["TESSERA_LB_NODES": "10.0.0.1,,10.0.0.2"],
         #"invalid TESSERA_LB_NODES "10.0.0.1,,10.0.0.2": entry 2 is empty; entries are separated by single commas"#),
        (["TESSERA_LB_NODES": " "], #"invalid TESSERA_LB_NODES " ": the list is empty; give comma-separated entries"#),
        (["TESSERA_LB_NODES": "10.0.0.1:n1,10.0.0.2:n1"],
         #"invalid TESSERA_LB_NODES "10.0.0.2:n1": node name "n1" is already used by TESSERA_LB_NODES "10.0.0.1:n1""#),
        (["TESSERA_LB_SERVICES": "p2p"],
         #"invalid TESSERA_LB_SERVICES "p2p": expected NAME=LISTENPORT[:NODEPORT] or NAME=unix:PATH:NODEPORT"#),
        (["TESSERA_LB_CONFIG": "/nonexistent/lb.json"],
         #"invalid TESSERA_LB_CONFIG "/nonexistent/lb.json": cannot read it: No such file or directory"#),
    ])
    func badVariable(environment: [String: String], line: String) {
        #expect(rejection(environment: environment, oneNode) == line)
    }

    @Test("a misspelt TESSERA_LB_ variable is an error naming the variable it resembles", arguments: [
        ("TESSERA_LB_WORKER", "TESSERA_LB_WORKERS"),
        ("TESSERA_LB_HEALTH_INTERVALL", "TESSERA_LB_HEALTH_INTERVAL"),
        ("TESSERA_LB_NODE", "TESSERA_LB_NODES"),
        ("TESSERA_LB_MAXCONNS", "TESSERA_LB_MAX_CONNS"),
    ])
    func misspeltVariable(name: String, known: String) {
        #expect(rejection(environment: [name: "4"], oneNode) == "invalid \(name): unknown variable; did you mean \(known)?")
    }

    @Test("other TESSERA_LB_ variables, such as the release script's, are left alone")
    func toolVariables() throws {
        let environment = ["TESSERA_LB_RELEASE_SCRATCH": ".build-release", "TESSERA_LB_IMAGE_TAG": "latest"]
        #expect(try loadIsolated(file: nil, overrides: oneNode, environment: environment).workers == nil)
    }

    @Test("a bad environment value is reported even when a flag overrides it")
    func environmentCheckedBeforeFlags() {
        #expect(rejection(environment: ["TESSERA_LB_WORKERS": "0"], ConfigOverrides(nodes: ["10.0.0.1"], ["--workers": "4"])) ==
            #"invalid TESSERA_LB_WORKERS "0": must be between 1 and 256"#)
    }
}
