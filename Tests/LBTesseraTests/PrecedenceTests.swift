import LBConfig
import Testing

@Suite("Tessera config files among the other sources")
struct TesseraPrecedenceTests {
    let directory: TesseraDirectory
    let files: [String]

    init() throws {
        directory = try TesseraDirectory()
        files = [
            try directory.write("tessera-1.json", TesseraConfigText.node(servers: TesseraConfigText.haServers(node: "10.0.0.11"))),
            try directory.write("tessera-2.json", TesseraConfigText.node(servers: TesseraConfigText.haServers(node: "10.0.0.12"))),
        ]
    }

    @Test("the Tessera files override the config file's nodes and services; its other settings stay")
    func overFile() throws {
        let file = try directory.write("lb.json", #"{"nodes": ["10.9.9.9"], "services": [{"name": "x", "listenPort": 1}], "workers": 3, "health": {"port": 1234}}"#)
        let config = try load(ConfigOverrides(tesseraConfigs: files), file: file)
        #expect(config.nodes.map(\.host) == ["10.0.0.11", "10.0.0.12"])
        #expect(config.services.map(\.name) == ["p2p", "thirdparty", "q2t"])
        #expect(config.health.port == 9001)
        #expect(config.workers == 3)
    }

    @Test("the environment and the flags override what the Tessera files give")
    func underEnvironmentAndFlags() throws {
        let config = try load(
            ConfigOverrides(services: ["p2p=9000:9001"], tesseraConfigs: files, ["--health-port": "9081"]),
            environment: ["TESSERA_LB_HEALTH_PORT": "9102", "TESSERA_LB_HEALTH_PATH": "/version"]
        )
        #expect(config.services == [BalancerConfig.Service(name: "p2p", listenPort: 9000, nodePort: 9001)])
        #expect(config.health.port == 9081)
        #expect(config.health.path == "/version")
    }

    @Test("--node names the files' nodes in order, host and name")
    func nodesNameFiles() throws {
        let config = try load(ConfigOverrides(nodes: ["10.1.0.11:tessera-1", "10.1.0.12:tessera-2"], tesseraConfigs: files))
        #expect(config.nodes == [
            BalancerConfig.Node(host: "10.1.0.11", name: "tessera-1"),
            BalancerConfig.Node(host: "10.1.0.12", name: "tessera-2"),
        ])
        #expect(config.services.count == 3)
    }

    @Test("a different number of --node than Tessera files is rejected")
    func nodeCountMismatch() {
        #expect(rejection(ConfigOverrides(nodes: ["10.1.0.11"], tesseraConfigs: files)) ==
            "invalid --node: 1 node given for 2 Tessera config files; with Tessera config files, name one node per "
                + "file, in the same order, or none")
        #expect(rejection(ConfigOverrides(tesseraConfigs: files), environment: ["TESSERA_LB_NODES": "a,b,c"]) ==
            "invalid TESSERA_LB_NODES: 3 nodes given for 2 Tessera config files; with Tessera config files, name one "
                + "node per file, in the same order, or none")
    }

    @Test("the printed configuration loads back equal, without the Tessera files")
    func printRoundTrip() throws {
        let config = try load(ConfigOverrides(tesseraConfigs: files))
        let printed = try directory.write("printed.json", ConfigWriter.json(config))
        #expect(try load(ConfigOverrides(), file: printed) == config)
    }
}
