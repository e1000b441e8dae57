import LBBalancing
import LBConfig
import Testing

@Suite("Flag parsing")
struct FlagParsingTests {
    @Test("--node takes IPv4, host names and IPv6, with or without a name", arguments: [
        ("10.0.0.1", "10.0.0.1", "10.0.0.1"),
        ("10.0.0.1:n1", "10.0.0.1", "n1"),
        ("tessera-1.example.com", "tessera-1.example.com", "tessera-1.example.com"),
        ("tessera-1.example.com:edge_1", "tessera-1.example.com", "edge_1"),
        ("::1", "::1", "::1"),
        ("fe80::1", "fe80::1", "fe80::1"),
        ("2001:db8::7", "2001:db8::7", "2001:db8::7"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("[::1]", "::1", "::1"),
        ("[::1]:n1", "::1", "n1"),
        ("[2001:db8::7]:tessera.2", "2001:db8::7", "tessera.2"),
    ])
    func node(flag: String, host: String, name: String) throws {
        let config = try loadIsolated(file: nil, overrides: ConfigOverrides(nodes: [flag]))
        #expect(config.nodes == [BalancerConfig.Node(host: host, name: name)])
    }

    @Test("--node is repeatable and keeps the order given")
    func nodesInOrder() throws {
        let config = try loadIsolated(file: nil, overrides: ConfigOverrides(nodes: ["10.0.0.2:b", "[::1]:a", "10.0.0.1"]))
        #expect(config.nodes.map(\.name) == ["b", "a", "10.0.0.1"])
    }

    @Test("--service replaces the default services; the node port defaults to the listen port")
    func services() throws {
        let config = try loadIsolated(
            file: nil,
            overrides: ConfigOverrides(nodes: ["10.0.0.1"], services: ["p2p=19000:9000", "q2t-v2=9101", "a_b=1:65535"])
        )
        #expect(config.services == [
            BalancerConfig.Service(name: "p2p", listenPort: 19000, nodePort: 9000),
            BalancerConfig.Service(name: "q2t-v2", listenPort: 9101, nodePort: 9101),
            BalancerConfig.Service(name: "a_b", listenPort: 1, nodePort: 65535),
        ])
    }

    @Test("every single-valued flag sets its setting")
    func scalarFlags() throws {
        let config = try loadIsolated(file: nil, overrides: ConfigOverrides(nodes: ["10.0.0.1"], ["--listen": "::", "--workers": "4", "--balance": "leastconn", "--max-conns": "100", "--connect-timeout": "250", "--idle-timeout": "60000", "--max-fails": "0", "--fail-timeout": "10000", "--forward": "splice", "--pipe-size": "1048576"]))
        #expect(config.listenAddress == "::")
        #expect(config.workers == 4)
        #expect(config.balance == .leastconn)
        #expect(config.maxConnections == 100)
        #expect(config.connectTimeoutMs == 250)
        #expect(config.idleTimeoutMs == 60_000)
        #expect(config.maxFails == 0)
        #expect(config.failTimeoutMs == 10_000)
        #expect(config.forward == .splice)
        #expect(config.pipeSize == 1_048_576)
    }

    @Test("range limits themselves are accepted", arguments: [
        ConfigOverrides(nodes: ["10.0.0.1"], ["--workers": "1", "--max-conns": "1", "--connect-timeout": "1", "--idle-timeout": "0", "--max-fails": "0", "--fail-timeout": "1", "--pipe-size": "4096"]),
        ConfigOverrides(nodes: ["10.0.0.1"], ["--workers": "256", "--max-conns": "1000000", "--connect-timeout": "600000", "--idle-timeout": "86400000", "--max-fails": "1000", "--fail-timeout": "3600000", "--pipe-size": "1048576"]),
        ConfigOverrides(nodes: (1...64).map { "10.0.0.\($0)" }),
    ])
    func limits(overrides: ConfigOverrides) {
        #expect(rejection(overrides) == nil)
    }
}
