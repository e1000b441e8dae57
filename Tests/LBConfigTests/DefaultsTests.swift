import LBBalancing
import LBConfig
import Testing

@Suite("Defaults")
struct DefaultsTests {
    @Test("with only a node given, every other setting has its documented default")
    func defaults() throws {
        let config = try loadIsolated(file: nil, overrides: oneNode)
        #expect(config.nodes == [BalancerConfig.Node(host: "10.0.0.1")])
        #expect(config.listenAddress == "0.0.0.0")
        #expect(config.services == [
            BalancerConfig.Service(name: "p2p", listenPort: 9000, nodePort: 9000),
            BalancerConfig.Service(name: "thirdparty", listenPort: 9080, nodePort: 9080),
            BalancerConfig.Service(name: "q2t", listenPort: 9101, nodePort: 9101),
        ])
        #expect(config.workers == nil)
        #expect(config.balance == .roundrobin)
        #expect(config.maxConnections == 16_384)
        #expect(config.connectTimeoutMs == 2_000)
        // Ten minutes: above Jetty's 30 s keep-alive, so a pooled connection is never cut, yet not for ever.
        #expect(config.idleTimeoutMs == 600_000)
        #expect(config.maxFails == 3)
        #expect(config.failTimeoutMs == 5_000)
        #expect(config.forward == .auto)
        #expect(config.pipeSize == 262_144)
    }

    @Test("a node without a name is named after its host")
    func nodeNameDefaultsToHost() throws {
        let config = try loadIsolated(file: nil, overrides: oneNode)
        #expect(config.nodes[0].name == "10.0.0.1")
    }

    @Test("no node anywhere is rejected, saying how to give one")
    func noNodes() {
        #expect(rejection(ConfigOverrides()) ==
            #"invalid --node: at least one node is required; give --node HOST[:name], "nodes" in the config file, "#
                + "TESSERA_LB_NODES or --tessera-config FILE")
    }
}
