import LBConfig
import Testing

@Suite("Two HA nodes' Tessera config files")
struct HAPairTests {
    @Test("each file gives a node from its bindingAddress, and the services listen on the advertised ports")
    func pair() throws {
        let directory = try TesseraDirectory()
        let first = try directory.write("tessera-1.json", TesseraConfigText.node(servers: TesseraConfigText.haServers(node: "10.0.0.11")))
        let second = try directory.write("tessera-2.json", TesseraConfigText.node(servers: TesseraConfigText.haServers(node: "10.0.0.12")))
        let config = try load(ConfigOverrides(tesseraConfigs: [first, second]))
        #expect(config.nodes == [BalancerConfig.Node(host: "10.0.0.11"), BalancerConfig.Node(host: "10.0.0.12")])
        #expect(config.services == [
            BalancerConfig.Service(name: "p2p", listenPort: 9000, nodePort: 9001),
            BalancerConfig.Service(name: "thirdparty", listenPort: 9080, nodePort: 9081),
            BalancerConfig.Service(name: "q2t", listenPort: 9101, nodePort: 9102),
        ])
        #expect(config.health.port == 9001)
        #expect(config.health.tls == nil)
    }

    @Test("the files come from TESSERA_LB_TESSERA_CONFIGS too")
    func fromEnvironment() throws {
        let directory = try TesseraDirectory()
        let first = try directory.write("a.json", TesseraConfigText.node(servers: TesseraConfigText.haServers(node: "10.0.0.11")))
        let second = try directory.write("b.json", TesseraConfigText.node(servers: TesseraConfigText.haServers(node: "10.0.0.12")))
        let config = try load(ConfigOverrides(), environment: ["TESSERA_LB_TESSERA_CONFIGS": "\(first),\(second)"])
        #expect(config.nodes.map(\.host) == ["10.0.0.11", "10.0.0.12"])
    }

    @Test("${VAR} templates are filled from the environment, and ${VAR:-default} falls back")
    func templates() throws {
        let directory = try TesseraDirectory()
        let servers = [
            TesseraConfigText.server("ThirdParty", serverAddress: "http://${LB_HOST}:9080", bindingAddress: "http://10.0.0.11:9080"),
            TesseraConfigText.server("Q2T", serverAddress: "http://${LB_HOST}:${Q2T_PORT:-9101}", bindingAddress: "http://10.0.0.11:9101"),
            TesseraConfigText.server("P2P", serverAddress: "http://${LB_HOST}:9000", bindingAddress: "http://10.0.0.11:9000",
                                     extra: #""sslConfig": { "tls": "${P2P_TLS:-OFF}" }"#),
        ]
        // jdbc.password is "${DB_PASSWORD}", unset here: fields tessera-lb does not read are left alone.
        let file = try directory.write("node.json", TesseraConfigText.node(servers: servers))
        let config = try load(ConfigOverrides(tesseraConfigs: [file]), environment: ["LB_HOST": "lb.internal"])
        #expect(config.services.map(\.listenPort) == [9000, 9080, 9101])
    }

    @Test("the legacy enabled field, string booleans, and ENCLAVE and ADMIN entries are taken in stride")
    func realWorldFields() throws {
        let directory = try TesseraDirectory()
        let servers = [
            TesseraConfigText.server("ENCLAVE", serverAddress: "http://localhost:9081"),
            TesseraConfigText.server("ADMIN", serverAddress: "http://localhost:9082"),
            TesseraConfigText.server("Q2T", serverAddress: "http://lb:9101", bindingAddress: "http://10.0.0.11:9101",
                                     extra: #""enabled": "true""#),
            TesseraConfigText.server("P2P", serverAddress: "http://lb:9000", bindingAddress: "http://10.0.0.11:9000"),
        ]
        let file = try directory.write("node.json", TesseraConfigText.node(servers: servers, top: #""unknownSetting": 1"#))
        let config = try load(ConfigOverrides(tesseraConfigs: [file]))
        #expect(config.services.map(\.name) == ["p2p", "q2t"])
    }

    @Test("a node without bindingAddress is reached at its serverAddress")
    func noBindingAddress() throws {
        let directory = try TesseraDirectory()
        let servers = [
            TesseraConfigText.server("Q2T", serverAddress: "http://10.0.0.11:9101"),
            TesseraConfigText.server("P2P", serverAddress: "http://10.0.0.11:9000"),
        ]
        let file = try directory.write("node.json", TesseraConfigText.node(servers: servers))
        let config = try load(ConfigOverrides(tesseraConfigs: [file]))
        #expect(config.nodes == [BalancerConfig.Node(host: "10.0.0.11")])
        #expect(config.services == [
            BalancerConfig.Service(name: "p2p", listenPort: 9000),
            BalancerConfig.Service(name: "q2t", listenPort: 9101),
        ])
    }

    @Test("a bootstrap node has no Q2T, and so no q2t service")
    func bootstrapNode() throws {
        let directory = try TesseraDirectory()
        let servers = [TesseraConfigText.server("P2P", serverAddress: "http://lb:9000", bindingAddress: "http://10.0.0.11:9000")]
        let file = try directory.write("node.json", TesseraConfigText.node(servers: servers).replacing(
            #""bootstrapNode": false"#, with: #""bootstrapNode": "true""#
        ))
        #expect(try load(ConfigOverrides(tesseraConfigs: [file])).services.map(\.name) == ["p2p"])
    }

    @Test("IPv6 binding addresses name IPv6 nodes")
    func ipv6() throws {
        let directory = try TesseraDirectory()
        let servers = [
            TesseraConfigText.server("Q2T", serverAddress: "http://[2001:db8::100]:9101", bindingAddress: "http://[2001:db8::11]:9101"),
            TesseraConfigText.server("P2P", serverAddress: "http://[2001:db8::100]:9000", bindingAddress: "http://[2001:db8::11]:9000"),
        ]
        let file = try directory.write("node.json", TesseraConfigText.node(servers: servers))
        #expect(try load(ConfigOverrides(tesseraConfigs: [file])).nodes == [BalancerConfig.Node(host: "2001:db8::11")])
    }
}
