import LBBalancing
import LBConfig
import Testing

@Suite("Config file")
struct ConfigFileTests {
    @Test("a file with every key sets every setting")
    func everyKey() throws {
        let file = try TemporaryConfigFile("""
            {
              "nodes": [
                "10.0.0.1",
                {"host": "10.0.0.2", "name": "tessera-2"},
                {"host": "2001:db8::3", "name": "tessera-3"},
                {"host": "[::1]"},
                "tessera-5.example.com"
              ],
              "listen": "127.0.0.1",
              "services": [
                {"name": "p2p", "listenPort": 19000, "nodePort": 9000},
                {"name": "q2t", "listenPort": 9101}
              ],
              "workers": 2,
              "balance": "leastconn",
              "maxConns": 5000,
              "connectTimeoutMs": 500,
              "idleTimeoutMs": 300000,
              "maxFails": 5,
              "failTimeoutMs": 30000,
              "forward": "copy",
              "pipeSize": 131072
            }
            """)
        let config = try loadIsolated(file: file.path, overrides: ConfigOverrides())
        #expect(config.nodes == [
            BalancerConfig.Node(host: "10.0.0.1"),
            BalancerConfig.Node(host: "10.0.0.2", name: "tessera-2"),
            BalancerConfig.Node(host: "2001:db8::3", name: "tessera-3"),
            BalancerConfig.Node(host: "::1"),
            BalancerConfig.Node(host: "tessera-5.example.com"),
        ])
        #expect(config.listenAddress == "127.0.0.1")
        #expect(config.services == [
            BalancerConfig.Service(name: "p2p", listenPort: 19000, nodePort: 9000),
            BalancerConfig.Service(name: "q2t", listenPort: 9101, nodePort: 9101),
        ])
        #expect(config.workers == 2)
        #expect(config.balance == .leastconn)
        #expect(config.maxConnections == 5000)
        #expect(config.connectTimeoutMs == 500)
        #expect(config.idleTimeoutMs == 300_000)
        #expect(config.maxFails == 5)
        #expect(config.failTimeoutMs == 30_000)
        #expect(config.forward == .copy)
        #expect(config.pipeSize == 131_072)
    }

    @Test("keys left out keep their defaults")
    func partialFile() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "workers": 3}"#)
        let config = try loadIsolated(file: file.path, overrides: ConfigOverrides())
        var expected = BalancerConfig()
        expected.nodes = [BalancerConfig.Node(host: "10.0.0.1")]
        expected.workers = 3
        #expect(config == expected)
    }

    @Test("an integer written with a zero fraction (4.0) is an integer")
    func wholeNumberWithFraction() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "workers": 4.0}"#)
        #expect(try loadIsolated(file: file.path, overrides: ConfigOverrides()).workers == 4)
    }
}
