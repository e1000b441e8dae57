import LBConfig
import Testing

@Suite("Config file errors")
struct FileErrorTests {
    /// Each case: the file's contents, and the line it is rejected with, FILE standing for its path.
    @Test("a bad value in the file is named by its key path, its value and its rule", arguments: [
        (#"{"nodes": ["10.0.0.1"], "fowrard": "splice"}"#,
         "invalid fowrard in FILE: unknown key; the keys here are nodes, services, listen, workers, balance, maxConns, "
            + "connectTimeoutMs, idleTimeoutMs, maxFails, failTimeoutMs, forward, engine, pipeSize, nodeUserTimeoutMs, "
            + "nodeKeepaliveSeconds, allDown, drainTimeoutMs, acceptGraceMs, freebind, groupCheckIntervalMs, groupPolicy, mirrorPartyinfo, unixMode, unixOwner, reloadHardStopAfterMs, health"),
        (#"{"nodes": ["10.0.0.1"], "max conns": 5}"#,
         "invalid \"max conns\" in FILE: unknown key; the keys here are nodes, services, listen, workers, balance, "
            + "maxConns, connectTimeoutMs, idleTimeoutMs, maxFails, failTimeoutMs, forward, engine, pipeSize, "
            + "nodeUserTimeoutMs, nodeKeepaliveSeconds, allDown, drainTimeoutMs, acceptGraceMs, freebind, groupCheckIntervalMs, groupPolicy, mirrorPartyinfo, unixMode, unixOwner, reloadHardStopAfterMs, health"),
        (#"{"nodes": ["10.0.0.1"], "workers": 0}"#, #"invalid workers "0" in FILE: must be between 1 and 256"#),
        (#"{"nodes": ["10.0.0.1"], "workers": "4"}"#, #"invalid workers "4" in FILE: expected an integer, got a string"#),
        (#"{"nodes": ["10.0.0.1"], "workers": 1.5}"#, #"invalid workers "1.5" in FILE: expected an integer"#),
        (#"{"nodes": ["10.0.0.1"], "workers": true}"#, #"invalid workers "true" in FILE: expected an integer, got a boolean"#),
        (#"{"nodes": ["10.0.0.1"], "workers": null}"#, #"invalid workers "null" in FILE: expected an integer, got null"#),
        (#"{"nodes": ["10.0.0.1"], "maxFails": -1}"#,
         #"invalid maxFails "-1" in FILE: must be between 0 and 1000 (0 turns passive health checks off)"#),
        (#"{"nodes": ["10.0.0.1"], "connectTimeoutMs": 0}"#,
         #"invalid connectTimeoutMs "0" in FILE: must be between 1 and 600000 milliseconds"#),
        (#"{"nodes": ["10.0.0.1"], "balance": 1}"#, #"invalid balance "1" in FILE: expected a string, got an integer"#),
        (#"{"nodes": ["10.0.0.1"], "forward": "zerocopy"}"#, #"invalid forward "zerocopy" in FILE: must be splice, copy or auto"#),
        (#"{"nodes": ["10.0.0.1"], "listen": "any"}"#,
         #"invalid listen "any" in FILE: must be an IPv4 or IPv6 address such as 0.0.0.0, :: or 127.0.0.1, not a host name"#),
        (#"{"nodes": "10.0.0.1"}"#, #"invalid nodes "10.0.0.1" in FILE: expected an array, got a string"#),
        (#"{"nodes": [5]}"#,
         #"invalid nodes[0] "5" in FILE: expected a host string or an object with "host" and "name", got an integer"#),
        (#"{"nodes": [{"name": "a"}]}"#, #"invalid nodes[0] in FILE: missing "host""#),
        (#"{"nodes": [{"host": "10.0.0.1", "nmae": "a"}]}"#,
         "invalid nodes[0].nmae in FILE: unknown key; the keys here are host, name"),
        (#"{"nodes": [{"host": 10}]}"#, #"invalid nodes[0].host "10" in FILE: expected a string, got an integer"#),
        (#"{"nodes": [{"host": ""}]}"#, #"invalid nodes[0].host "" in FILE: the host is empty"#),
        (#"{"nodes": [{"host": "10.0.0.1", "name": ""}]}"#, #"invalid nodes[0].name "" in FILE: the node name is empty"#),
        (#"{"nodes": ["10.0.0.1:n1"]}"#,
         #"invalid nodes[0] "10.0.0.1:n1" in FILE: the host contains ":" but is not an IPv6 address"#),
        (#"{"nodes": [{"host": "10.0.0.1", "name": "a"}, {"host": "10.0.0.2", "name": "a"}]}"#,
         #"invalid nodes[1].name "a" in FILE: node name "a" is already used by nodes[0].name"#),
        (#"{"nodes": ["10.0.0.1", {"host": "10.0.0.1"}]}"#,
         #"invalid nodes[1] in FILE: node name "10.0.0.1" is already used by nodes[0]"#),
        (#"{"nodes": ["10.0.0.1"], "services": []}"#, "invalid services in FILE: at least one service is required"),
        (#"{"nodes": ["10.0.0.1"], "services": [5]}"#, #"invalid services[0] "5" in FILE: expected an object, got an integer"#),
        (#"{"nodes": ["10.0.0.1"], "services": [{"name": "p2p"}]}"#, #"invalid services[0] in FILE: missing "listenPort""#),
        (#"{"nodes": ["10.0.0.1"], "services": [{"listenPort": 9000}]}"#, #"invalid services[0] in FILE: missing "name""#),
        (#"{"nodes": ["10.0.0.1"], "services": [{"name": "p2p", "listenPort": 9000, "port": 1}]}"#,
         "invalid services[0].port in FILE: unknown key; the keys here are name, listenPort, listenPath, nodePort, allow"),
        (#"{"nodes": ["10.0.0.1"], "services": [{"name": "p2p", "listenPort": 9000}, {"name": "q2t", "listenPort": "abc"}]}"#,
         #"invalid services[1].listenPort "abc" in FILE: expected an integer, got a string"#),
        (#"{"nodes": ["10.0.0.1"], "services": [{"name": "p2p", "listenPort": 9000}, {"name": "q2t", "listenPort": 70000}]}"#,
         #"invalid services[1].listenPort "70000" in FILE: must be a port between 1 and 65535"#),
        (#"{"nodes": ["10.0.0.1"], "services": [{"name": "p2p", "listenPort": 9000, "nodePort": 0}]}"#,
         #"invalid services[0].nodePort "0" in FILE: must be a port between 1 and 65535"#),
        (#"{"nodes": ["10.0.0.1"], "services": [{"name": "P2P", "listenPort": 9000}]}"#,
         #"invalid services[0].name "P2P" in FILE: the service name may contain only lowercase letters, digits, '-' and '_'"#),
        (#"{"nodes": ["10.0.0.1"], "services": [{"name": "a", "listenPort": 9000}, {"name": "a", "listenPort": 9001}]}"#,
         #"invalid services[1].name "a" in FILE: service name "a" is already used by services[0].name"#),
        (#"{"nodes": ["10.0.0.1"], "services": [{"name": "a", "listenPort": 9000}, {"name": "b", "listenPort": 9000}]}"#,
         #"invalid services[1].listenPort "9000" in FILE: listen port 9000 is already used by services[0].listenPort"#),
        ("[]", #"invalid --config "FILE": expected a JSON object at the top level, got an array"#),
        ("", #"invalid --config "FILE": the file is empty; it should hold a JSON object"#),
    ])
    func badValue(contents: String, line: String) throws {
        let file = try TemporaryConfigFile(contents)
        #expect(rejection(file: file.path, ConfigOverrides()) == line.replacing("FILE", with: file.path))
    }

    @Test("more than 64 nodes in the file are rejected")
    func tooManyNodes() throws {
        let nodes = (1...65).map { "\"10.0.1.\($0)\"" }.joined(separator: ", ")
        let file = try TemporaryConfigFile(#"{"nodes": [\#(nodes)]}"#)
        #expect(rejection(file: file.path, ConfigOverrides()) ==
            "invalid nodes in \(file.path): 65 nodes given; at most 64 are supported")
    }

    @Test("invalid JSON names the file and the line")
    func invalidJSON() throws {
        let file = try TemporaryConfigFile("""
            {
              "nodes": ["10.0.0.1"],
              "workers": 4
              "balance": "leastconn"
            }
            """)
        let line = try #require(rejection(file: file.path, ConfigOverrides()))
        #expect(line.hasPrefix(#"invalid --config "\#(file.path)": not valid JSON: "#))
        #expect(line.hasSuffix("at line 4, column 3"))
    }

    @Test("a missing file names the file and the reason")
    func missingFile() {
        #expect(rejection(file: "/nonexistent/tessera-lb.json", oneNode) ==
            #"invalid --config "/nonexistent/tessera-lb.json": cannot read it: No such file or directory"#)
    }

    @Test("a directory given as the file names the file and the reason")
    func directory() {
        #expect(rejection(file: "/tmp", oneNode) == #"invalid --config "/tmp": not a regular file (a directory)"#)
    }
}
