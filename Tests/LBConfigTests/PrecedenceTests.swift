import LBBalancing
import LBConfig
import Testing

@Suite("Precedence: defaults, then the file, then flags")
struct PrecedenceTests {
    @Test("a flag overrides the file's value; the file's other values stay")
    func flagOverridesFile() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "workers": 4, "listen": "127.0.0.1", "balance": "leastconn"}"#)
        let config = try loadIsolated(file: file.path, overrides: ConfigOverrides(["--workers": "8", "--balance": "roundrobin"]))
        #expect(config.workers == 8)
        #expect(config.balance == .roundrobin)
        #expect(config.listenAddress == "127.0.0.1")
    }

    @Test("--node replaces the file's whole node list")
    func nodesReplaceFileNodes() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1", "10.0.0.2"]}"#)
        let config = try loadIsolated(file: file.path, overrides: ConfigOverrides(nodes: ["10.0.0.3:c"]))
        #expect(config.nodes == [BalancerConfig.Node(host: "10.0.0.3", name: "c")])
    }

    @Test("--service replaces the file's whole service list")
    func servicesReplaceFileServices() throws {
        let file = try TemporaryConfigFile(#"""
            {"nodes": ["10.0.0.1"], "services": [{"name": "p2p", "listenPort": 9000}, {"name": "q2t", "listenPort": 9101}]}
            """#)
        let config = try loadIsolated(file: file.path, overrides: ConfigOverrides(services: ["web=8080:80"]))
        #expect(config.services == [BalancerConfig.Service(name: "web", listenPort: 8080, nodePort: 80)])
    }

    @Test("the file's services replace the defaults")
    func fileServicesReplaceDefaults() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "services": [{"name": "p2p", "listenPort": 9000}]}"#)
        let config = try loadIsolated(file: file.path, overrides: ConfigOverrides())
        #expect(config.services == [BalancerConfig.Service(name: "p2p", listenPort: 9000)])
    }

    @Test("nodes may come from flags alone while the file gives the rest")
    func nodesFromFlagsOnly() throws {
        let file = try TemporaryConfigFile(#"{"forward": "splice"}"#)
        let config = try loadIsolated(file: file.path, overrides: ConfigOverrides(nodes: ["10.0.0.1"]))
        #expect(config.nodes.count == 1)
        #expect(config.forward == .splice)
    }

    @Test("a bad value in the file is reported even when a flag overrides it")
    func fileCheckedBeforeFlags() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "workers": 0}"#)
        #expect(rejection(file: file.path, ConfigOverrides(["--workers": "4"])) ==
            #"invalid workers "0" in \#(file.path): must be between 1 and 256"#)
    }
}
