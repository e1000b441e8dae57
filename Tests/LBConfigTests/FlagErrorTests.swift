import LBConfig
import Testing

@Suite("Flag errors")
struct FlagErrorTests {
    @Test("a bad single-valued flag is named with its value and its rule", arguments: [
        (ConfigOverrides(["--workers": "0"]), #"invalid --workers "0": must be between 1 and 256"#),
        (ConfigOverrides(["--workers": "257"]), #"invalid --workers "257": must be between 1 and 256"#),
        (ConfigOverrides(["--workers": "abc"]), #"invalid --workers "abc": must be an integer between 1 and 256"#),
        (ConfigOverrides(["--workers": "4.5"]), #"invalid --workers "4.5": must be an integer between 1 and 256"#),
        (ConfigOverrides(["--max-conns": "0"]), #"invalid --max-conns "0": must be between 1 and 1000000"#),
        (ConfigOverrides(["--connect-timeout": "0"]),
         #"invalid --connect-timeout "0": must be between 1 and 600000 milliseconds"#),
        (ConfigOverrides(["--idle-timeout": "-1"]),
         #"invalid --idle-timeout "-1": must be between 0 and 86400000 milliseconds (0 is off)"#),
        (ConfigOverrides(["--max-fails": "1001"]),
         #"invalid --max-fails "1001": must be between 0 and 1000 (0 turns passive health checks off)"#),
        (ConfigOverrides(["--fail-timeout": "3600001"]),
         #"invalid --fail-timeout "3600001": must be between 1 and 3600000 milliseconds"#),
        (ConfigOverrides(["--pipe-size": "4095"]), #"invalid --pipe-size "4095": must be between 4096 and 67108864 bytes"#),
        (ConfigOverrides(["--pipe-size": "64k"]), #"invalid --pipe-size "64k": must be an integer between 4096 and 67108864 bytes"#),
        (ConfigOverrides(["--balance": "random"]), #"invalid --balance "random": must be roundrobin or leastconn"#),
        (ConfigOverrides(["--forward": "zerocopy"]), #"invalid --forward "zerocopy": must be splice, copy or auto"#),
        (ConfigOverrides(["--engine": "uring"]), #"invalid --engine "uring": must be epoll, io_uring or auto"#),
        (ConfigOverrides(["--listen": "localhost"]),
         #"invalid --listen "localhost": must be an IPv4 or IPv6 address such as 0.0.0.0, :: or 127.0.0.1, not a host name"#),
        (ConfigOverrides(["--listen": "10.0.0.256"]),
         #"invalid --listen "10.0.0.256": must be an IPv4 or IPv6 address such as 0.0.0.0, :: or 127.0.0.1, not a host name"#),
    ])
    func scalar(flags: ConfigOverrides, line: String) {
        var overrides = flags
        overrides.nodes = ["10.0.0.1"]
        #expect(rejection(overrides) == line)
    }

    @Test("a bad --node says what is wrong with it", arguments: [
        ("", #"invalid --node "": the host is empty"#),
        (":n1", #"invalid --node ":n1": the host is empty"#),
        ("10.0.0.1:", #"invalid --node "10.0.0.1:": the node name is empty"#),
        ("10.0.0.1:n 1", #"invalid --node "10.0.0.1:n 1": the node name may contain only letters, digits, '-', '.' and '_'"#),
        ("10.0.0.1:9000", #"invalid --node "10.0.0.1:9000": the node name looks like a port; nodes take no port, each service has a node port"#),
        ("10.0.0.256", #"invalid --node "10.0.0.256": the host is not a valid IPv4 address; write four decimal numbers, as in 10.0.0.1"#),
        ("-x", #"invalid --node "-x": the host must be an IPv4 address, an IPv6 address or a host name (letters, digits, '-', '.', '_')"#),
        ("web server", #"invalid --node "web server": the host must be an IPv4 address, an IPv6 address or a host name (letters, digits, '-', '.', '_')"#),
        ("fe80::1:n1", #"invalid --node "fe80::1:n1": not an IPv6 address; an IPv6 address followed by a name goes in brackets, as in [fe80::1]:name"#),
        ("[::1", #"invalid --node "[::1": missing "]" after the IPv6 address"#),
        ("[::1]n1", #"invalid --node "[::1]n1": expected ":name" after "]""#),
        ("[10.0.0.1]:n1", #"invalid --node "[10.0.0.1]:n1": brackets must enclose an IPv6 address, as in [::1]"#),
        ("[::1]:", #"invalid --node "[::1]:": the node name is empty"#),
    ])
    func node(flag: String, line: String) {
        #expect(rejection(ConfigOverrides(nodes: [flag])) == line)
    }

    @Test("two nodes with one name are rejected, naming both", arguments: [
        (["10.0.0.1:a", "10.0.0.2:a"], #"invalid --node "10.0.0.2:a": node name "a" is already used by --node "10.0.0.1:a""#),
        (["10.0.0.1", "10.0.0.1"], #"invalid --node "10.0.0.1": node name "10.0.0.1" is already used by --node "10.0.0.1""#),
    ])
    func duplicateNodeName(flags: [String], line: String) {
        #expect(rejection(ConfigOverrides(nodes: flags)) == line)
    }

    @Test("more than 64 nodes are rejected")
    func tooManyNodes() {
        let nodes = (1...65).map { "10.0.1.\($0)" }
        #expect(rejection(ConfigOverrides(nodes: nodes)) == "invalid --node: 65 nodes given; at most 64 are supported")
    }

    @Test("more than 8000 services are rejected: each worker's io_uring queues four accepts for each")
    func tooManyServices() {
        let services = (0...8_000).map { "s\($0)=unix:/run/lb/s\($0):9101" }
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], services: services))
            == "invalid --service: 8001 services given; at most 8000 are supported")
        let most = Array(services.dropLast())
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], services: most)) == nil)
    }

    @Test("a bad --service says what is wrong with it", arguments: [
        ("p2p", #"invalid --service "p2p": expected NAME=LISTENPORT[:NODEPORT] or NAME=unix:PATH:NODEPORT"#),
        ("p2p=9000:9001:9002", #"invalid --service "p2p=9000:9001:9002": expected NAME=LISTENPORT[:NODEPORT] or NAME=unix:PATH:NODEPORT"#),
        ("=9000", #"invalid --service "=9000": the service name is empty"#),
        ("p2\u{301}p=9000", "invalid --service \"p2\u{301}p=9000\": the service name may contain only lowercase letters, digits, '-' and '_'"),
        ("P2P=9000", #"invalid --service "P2P=9000": the service name may contain only lowercase letters, digits, '-' and '_'"#),
        ("p2p=", #"invalid --service "p2p=": the listen port must be between 1 and 65535"#),
        ("p2p=abc", #"invalid --service "p2p=abc": the listen port must be between 1 and 65535"#),
        ("p2p=0", #"invalid --service "p2p=0": the listen port must be between 1 and 65535"#),
        ("p2p=9000:70000", #"invalid --service "p2p=9000:70000": the node port must be between 1 and 65535"#),
    ])
    func service(flag: String, line: String) {
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], services: [flag])) == line)
    }

    @Test("services must differ in name and in listen port", arguments: [
        (["a=9000", "a=9001"], #"invalid --service "a=9001": service name "a" is already used by --service "a=9000""#),
        (["a=9000", "b=9000:9001"], #"invalid --service "b=9000:9001": listen port 9000 is already used by --service "a=9000""#),
    ])
    func duplicateService(flags: [String], line: String) {
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], services: flags)) == line)
    }

    @Test("two services may forward to the same node port")
    func sharedNodePort() {
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], services: ["a=9000", "b=9001:9000"])) == nil)
    }

    @Test("a value with a line break still gives one line, the break escaped")
    func oneLine() {
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--workers": "4\n5"])) ==
            #"invalid --workers "4\n5": must be an integer between 1 and 256"#)
    }

    @Test("ConfigError keeps the setting, the value and the problem apart")
    func errorFields() throws {
        #expect(throws: ConfigError(setting: "--workers", value: "0", problem: "must be between 1 and 256")) {
            try loadIsolated(file: nil, overrides: ConfigOverrides(nodes: ["10.0.0.1"], ["--workers": "0"]))
        }
    }
}

@Suite("Error lines")
struct ErrorLineTests {
    @Test("line and paragraph separators, NEL, bidi overrides and control characters in a value are escaped",
          arguments: ["\u{2028}", "\u{2029}", "\u{85}", "\u{202E}", "\u{200B}", "\u{1B}[31m", "\r", "\n", "\u{7F}"])
    func oneLine(character: String) throws {
        let line = try #require(rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--workers": "4\(character)2"])))
        let breaking: Set<UInt32> = [0x0A, 0x0B, 0x0C, 0x0D, 0x1B, 0x7F, 0x85, 0x2028, 0x2029, 0x202E, 0x200B]
        #expect(!line.unicodeScalars.contains { breaking.contains($0.value) }, "one line, nothing invisible: \(line.debugDescription)")
        #expect(line.hasPrefix(#"invalid --workers "4\"#), "\(line.debugDescription)")
    }

    @Test("the escapes say which character it was")
    func escapes() {
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--workers": "4\u{2028}\u{202E}\n\""])) ==
            #"invalid --workers "4\u{2028}\u{202E}\n\"": must be an integer between 1 and 256"#)
    }

    @Test("a huge value is cut after 256 characters, its length said")
    func hugeValue() {
        let value = String(repeating: "9", count: 10_000_000)
        let line = rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--workers": value]))
        #expect(line == "invalid --workers \"\(String(repeating: "9", count: 256))\"... (10000000 bytes): must be between 1 and 256")
    }

    @Test("a key with a separator in the file is escaped too")
    func key() throws {
        let file = try TemporaryConfigFile("{\"nodes\": [\"10.0.0.1\"], \"a\u{2028}b\": 1}")
        let line = try #require(rejection(file: file.path, ConfigOverrides()))
        #expect(line.hasPrefix(#"invalid "a\u{2028}b" in "#), "\(line.debugDescription)")
    }
}
