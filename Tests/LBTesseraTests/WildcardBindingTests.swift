import LBConfig
import Testing

@Suite("A bindingAddress that binds every interface")
struct WildcardBindingTests {
    let directory: TesseraDirectory
    let files: [String]

    init() throws {
        let directory = try TesseraDirectory()
        self.directory = directory
        // quorum-dev-quickstart style: each node binds 0.0.0.0 and advertises the balancer.
        files = try (1...2).map { index in
            try directory.write("tessera-\(index).json", TesseraConfigText.node(servers: [
                TesseraConfigText.server("Q2T", serverAddress: "http://lb:9101", bindingAddress: "http://0.0.0.0:9101"),
                TesseraConfigText.server("P2P", serverAddress: "http://lb:9000", bindingAddress: "http://0.0.0.0:9000"),
            ]))
        }
    }

    @Test("without --node it cannot name the node, and says so")
    func withoutNode() {
        #expect(rejection(ConfigOverrides(tesseraConfigs: files)) ==
            #"invalid serverConfigs[1].bindingAddress "http://0.0.0.0:9000" in \#(files[0]): binds every interface, "#
                + "so it does not say where the node is; name the node with --node HOST[:name] (or TESSERA_LB_NODES), "
                + "one per Tessera config file in the same order")
    }

    @Test("--node names each file's node, in order")
    func withNode() throws {
        let config = try load(ConfigOverrides(nodes: ["tessera-1:t1", "tessera-2:t2"], tesseraConfigs: files))
        #expect(config.nodes == [
            BalancerConfig.Node(host: "tessera-1", name: "t1"), BalancerConfig.Node(host: "tessera-2", name: "t2"),
        ])
        #expect(config.services == [
            BalancerConfig.Service(name: "p2p", listenPort: 9000),
            BalancerConfig.Service(name: "q2t", listenPort: 9101),
        ])
    }

    @Test("TESSERA_LB_NODES names them as well")
    func withEnvironment() throws {
        let config = try load(ConfigOverrides(tesseraConfigs: files), environment: ["TESSERA_LB_NODES": "10.0.0.11,10.0.0.12"])
        #expect(config.nodes.map(\.host) == ["10.0.0.11", "10.0.0.12"])
    }
}
