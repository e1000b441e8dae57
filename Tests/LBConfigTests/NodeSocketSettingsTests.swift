import LBConfig
import Testing

@Suite("Node socket settings and the all-down policy")
struct NodeSocketSettingsTests {
    @Test("the defaults: 10 s user timeout, 30 s keepalive, refuse when every node is down")
    func defaults() throws {
        let config = try loadIsolated(file: nil, overrides: oneNode)
        #expect(config.nodeUserTimeoutMs == 10_000)
        #expect(config.nodeKeepaliveSeconds == 30)
        #expect(config.allDown == .refuse)
    }

    @Test("the file sets them and flags override the file")
    func fileAndFlags() throws {
        let file = try TemporaryConfigFile("""
            {"nodes": ["10.0.0.1"], "nodeUserTimeoutMs": 0, "nodeKeepaliveSeconds": 0, "allDown": "least-recently-failed"}
            """)
        let fromFile = try loadIsolated(file: file.path, overrides: ConfigOverrides())
        #expect(fromFile.nodeUserTimeoutMs == 0)
        #expect(fromFile.nodeKeepaliveSeconds == 0)
        #expect(fromFile.allDown == .leastRecentlyFailed)
        let flagged = try loadIsolated(file: file.path, overrides: ConfigOverrides(["--node-user-timeout": "5000", "--node-keepalive": "60", "--all-down": "refuse"]))
        #expect(flagged.nodeUserTimeoutMs == 5000)
        #expect(flagged.nodeKeepaliveSeconds == 60)
        #expect(flagged.allDown == .refuse)
    }

    @Test("bad values name the flag and the range", arguments: [
        (ConfigOverrides(["--node-user-timeout": "600001"]),
         #"invalid --node-user-timeout "600001": must be between 0 and 600000 milliseconds (0 keeps the kernel's default)"#),
        (ConfigOverrides(["--node-keepalive": "32768"]),
         #"invalid --node-keepalive "32768": must be between 0 and 32767 seconds (0 is off)"#),
        (ConfigOverrides(["--all-down": "random"]), #"invalid --all-down "random": must be refuse or least-recently-failed"#),
    ])
    func badValue(overrides: ConfigOverrides, line: String) {
        var overrides = overrides
        overrides.nodes = ["10.0.0.1"]
        #expect(rejection(overrides) == line)
    }
}
