import LBConfig
import Testing

@Suite("Services on a unix socket")
struct UnixServiceTests {
    @Test("--service NAME=unix:PATH:NODEPORT listens on the path and forwards to the node port")
    func flag() throws {
        let config = try loadIsolated(file: nil, overrides: ConfigOverrides(
            nodes: ["10.0.0.1"], services: ["q2t=unix:/run/quorum/tm.ipc:9101", "p2p=9000"]
        ))
        #expect(config.services == [
            BalancerConfig.Service(name: "q2t", listenPort: 0, nodePort: 9101, listenPath: "/run/quorum/tm.ipc"),
            BalancerConfig.Service(name: "p2p", listenPort: 9000),
        ])
    }

    @Test("a path with a colon keeps it: the node port follows the last colon")
    func colonInPath() throws {
        let config = try loadIsolated(file: nil, overrides: ConfigOverrides(nodes: ["10.0.0.1"], services: ["q=unix:/a:b/tm.ipc:9101"]))
        #expect(config.services[0].listenPath == "/a:b/tm.ipc")
        #expect(config.services[0].nodePort == 9101)
    }

    @Test("in the file, listenPath takes the place of listenPort")
    func file() throws {
        let file = try TemporaryConfigFile("""
            {"nodes": ["10.0.0.1"], "services": [
              {"name": "q2t", "listenPath": "/qdata/tm/tm.ipc", "nodePort": 9101},
              {"name": "q2t-tcp", "listenPort": 9101}
            ]}
            """)
        #expect(try loadIsolated(file: file.path, overrides: ConfigOverrides()).services == [
            BalancerConfig.Service(name: "q2t", listenPort: 0, nodePort: 9101, listenPath: "/qdata/tm/tm.ipc"),
            BalancerConfig.Service(name: "q2t-tcp", listenPort: 9101),
        ])
    }

    @Test("two unix-socket services do not compete for listen port 0")
    func portNotChecked() throws {
        let config = try loadIsolated(file: nil, overrides: ConfigOverrides(
            nodes: ["10.0.0.1"], services: ["a=unix:/run/a.ipc:9101", "b=unix:/run/b.ipc:9101"]
        ))
        #expect(config.services.count == 2)
    }

    @Test("a bad socket service flag says what is wrong", arguments: [
        ("q2t=unix:/run/tm.ipc", #"invalid --service "q2t=unix:/run/tm.ipc": expected NAME=unix:PATH:NODEPORT; a unix-socket service needs its node port"#),
        ("q2t=unix:tm.ipc:9101", #"invalid --service "q2t=unix:tm.ipc:9101": the socket path must be absolute (start with '/')"#),
        ("q2t=unix::9101", #"invalid --service "q2t=unix::9101": the socket path is empty"#),
        ("q2t=unix:/run/:9101", #"invalid --service "q2t=unix:/run/:9101": the socket path names a directory (it ends with '/')"#),
        ("q2t=unix:/run/tm.ipc:0", #"invalid --service "q2t=unix:/run/tm.ipc:0": the node port must be between 1 and 65535"#),
        ("q2t=unix:/" + String(repeating: "a", count: 107) + ":9101",
         #"invalid --service "q2t=unix:/"# + String(repeating: "a", count: 107)
            + #":9101": the socket path is 108 bytes long; a unix socket address holds at most 107"#),
    ])
    func badFlag(spec: String, line: String) {
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], services: [spec])) == line)
    }

    @Test("a path of exactly 107 bytes fits")
    func longestPath() throws {
        let path = "/" + String(repeating: "a", count: 106)
        let config = try loadIsolated(file: nil, overrides: ConfigOverrides(nodes: ["10.0.0.1"], services: ["q=unix:\(path):9101"]))
        #expect(config.services[0].listenPath == path)
    }

    @Test("the same socket path twice is rejected, naming the first")
    func duplicatePath() {
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], services: ["a=unix:/run/tm.ipc:9101", "b=unix:/run/tm.ipc:9000"])) ==
            #"invalid --service "b=unix:/run/tm.ipc:9000": socket path "/run/tm.ipc" is already used by --service "a=unix:/run/tm.ipc:9101""#)
    }

    /// Each case: the services list, and the line it is rejected with, FILE standing for the file's path.
    @Test("a bad socket service in the file is named by its key path", arguments: [
        (#"[{"name": "q2t", "listenPath": "/run/tm.ipc"}]"#, #"invalid services[0] in FILE: missing "nodePort""#),
        (#"[{"name": "q2t", "listenPath": "/run/tm.ipc", "listenPort": 9101, "nodePort": 9101}]"#,
         #"invalid services[0].listenPort "9101" in FILE: a service listens on a port or a socket path (listenPath), not both"#),
        (#"[{"name": "q2t", "listenPath": "run/tm.ipc", "nodePort": 9101}]"#,
         #"invalid services[0].listenPath "run/tm.ipc" in FILE: the socket path must be absolute (start with '/')"#),
        (#"[{"name": "a", "listenPath": "/run/tm.ipc", "nodePort": 9101}, {"name": "b", "listenPath": "/run/tm.ipc", "nodePort": 9101}]"#,
         #"invalid services[1].listenPath "/run/tm.ipc" in FILE: socket path "/run/tm.ipc" is already used by services[0].listenPath"#),
    ])
    func badFileEntry(services: String, line: String) throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "services": \#(services)}"#)
        #expect(rejection(file: file.path, ConfigOverrides()) == line.replacing("FILE", with: file.path))
    }
}

@Suite("Unix socket mode and owner settings")
struct UnixSocketAccessSettingTests {
    @Test("--unix-mode takes octal permission bits; the file and the variable take the same text")
    func mode() throws {
        #expect(try loadIsolated(file: nil, overrides: ConfigOverrides(nodes: ["10.0.0.1"], ["--unix-mode": "0660"])).unixMode == 0o660)
        #expect(try loadIsolated(file: nil, overrides: ConfigOverrides(nodes: ["10.0.0.1"], ["--unix-mode": "666"])).unixMode == 0o666)
        #expect(try loadIsolated(file: nil, overrides: oneNode, environment: ["TESSERA_LB_UNIX_MODE": "0600"]).unixMode == 0o600)
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "unixMode": "0640", "unixOwner": "0:0"}"#)
        let config = try loadIsolated(file: file.path, overrides: ConfigOverrides())
        #expect(config.unixMode == 0o640)
        #expect(config.unixOwner == "0:0")
        #expect(try loadIsolated(file: nil, overrides: oneNode).unixMode == nil)
    }

    @Test("a bad --unix-mode or --unix-owner is named", arguments: [
        (ConfigOverrides(nodes: ["10.0.0.1"], ["--unix-mode": "rw-rw----"]),
         #"invalid --unix-mode "rw-rw----": must be permission bits in octal, such as 0660 or 0666, at most 0777"#),
        (ConfigOverrides(nodes: ["10.0.0.1"], ["--unix-mode": "0800"]),
         #"invalid --unix-mode "0800": must be permission bits in octal, such as 0660 or 0666, at most 0777"#),
        (ConfigOverrides(nodes: ["10.0.0.1"], ["--unix-mode": "1777"]),
         #"invalid --unix-mode "1777": must be permission bits in octal, such as 0660 or 0666, at most 0777"#),
        (ConfigOverrides(nodes: ["10.0.0.1"], ["--unix-owner": "no-such-user-tlb"]),
         #"invalid --unix-owner "no-such-user-tlb": no user named "no-such-user-tlb" on this host"#),
        (ConfigOverrides(nodes: ["10.0.0.1"], ["--unix-owner": "root:no-such-group-tlb"]),
         #"invalid --unix-owner "root:no-such-group-tlb": no group named "no-such-group-tlb" on this host"#),
        (ConfigOverrides(nodes: ["10.0.0.1"], ["--unix-owner": ":"]),
         #"invalid --unix-owner ":": expected USER, USER:GROUP or :GROUP, by name or number"#),
    ])
    func bad(overrides: ConfigOverrides, line: String) {
        #expect(rejection(overrides) == line)
    }

    @Test("names and numbers both resolve; a group alone is allowed")
    func owners() {
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--unix-owner": "root"])) == nil)
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--unix-owner": "root:root"])) == nil)
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--unix-owner": ":0"])) == nil)
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--unix-owner": "1000:1000"])) == nil)
    }
}
