import LBConfig
import Testing

/// Values that parse but cannot be meant: a node that is the balancer itself, a probe answer no node can give,
/// integers and addresses in forms nobody writes on purpose, host names beyond DNS's limits.
@Suite("Absurd values")
struct AbsurdValueTests {
    @Test("a node at one of the balancer's own listeners is refused, naming the node", arguments: [
        // The default services listen on 0.0.0.0:9000... and forward to 9000... on the node.
        (ConfigOverrides(nodes: ["127.0.0.1"]), #"invalid --node "127.0.0.1": 127.0.0.1 port 9000 is this balancer's own listener for service p2p (listen 0.0.0.0); the node would be the balancer itself"#),
        (ConfigOverrides(nodes: ["10.0.0.1", "127.0.0.2:self"]), #"invalid --node "127.0.0.2:self": 127.0.0.2 port 9000 is this balancer's own listener for service p2p (listen 0.0.0.0); the node would be the balancer itself"#),
        (ConfigOverrides(nodes: ["localhost"], services: ["q2t=9101"]), #"invalid --node "localhost": localhost port 9101 is this balancer's own listener for service q2t (listen 0.0.0.0); the node would be the balancer itself"#),
        (ConfigOverrides(nodes: ["0.0.0.0"], ["--listen": "127.0.0.9"]), #"invalid --node "0.0.0.0": 0.0.0.0 port 9000 is this balancer's own listener for service p2p (listen 127.0.0.9); the node would be the balancer itself"#),
        (ConfigOverrides(nodes: ["127.0.0.9"], ["--listen": "127.0.0.9"]), #"invalid --node "127.0.0.9": 127.0.0.9 port 9000 is this balancer's own listener for service p2p (listen 127.0.0.9); the node would be the balancer itself"#),
        // :: takes IPv4 too.
        (ConfigOverrides(nodes: ["127.0.0.1"], ["--listen": "::"]), #"invalid --node "127.0.0.1": 127.0.0.1 port 9000 is this balancer's own listener for service p2p (listen ::); the node would be the balancer itself"#),
        (ConfigOverrides(nodes: ["::1"], ["--listen": "::"]), #"invalid --node "::1": ::1 port 9000 is this balancer's own listener for service p2p (listen ::); the node would be the balancer itself"#),
        // A node port that is another service's listen port loops just the same.
        (ConfigOverrides(nodes: ["127.0.0.1"], services: ["a=7001:7002", "b=7002:7009"]), #"invalid --node "127.0.0.1": 127.0.0.1 port 7002 is this balancer's own listener for service b (listen 0.0.0.0); the node would be the balancer itself"#),
    ])
    func nodeIsTheBalancer(overrides: ConfigOverrides, line: String) {
        #expect(rejection(overrides) == line)
    }

    @Test("a node that is not one of the balancer's listeners is accepted", arguments: [
        ConfigOverrides(nodes: ["127.0.0.2"], ["--listen": "127.0.0.1"]),
        ConfigOverrides(nodes: ["127.0.0.1"], services: ["p2p=9000:9001"]),
        // An IPv4-only listener does not take ::1.
        ConfigOverrides(nodes: ["::1"], ["--listen": "0.0.0.0"]),
        ConfigOverrides(nodes: ["10.0.0.1"]),
        ConfigOverrides(nodes: ["127.0.0.1"], services: ["q2t=unix:/run/tm.ipc:9101"]),
    ])
    func nodeIsNotTheBalancer(overrides: ConfigOverrides) {
        #expect(rejection(overrides) == nil)
    }

    @Test("a node in the config file that is the balancer is named by its path")
    func nodeIsTheBalancerInFile() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1", "127.0.0.1"], "listen": "127.0.0.1"}"#)
        #expect(rejection(file: file.path, ConfigOverrides()) ==
            #"invalid nodes[1] "127.0.0.1" in \#(file.path): 127.0.0.1 port 9000 is this balancer's own listener for service p2p (listen 127.0.0.1); the node would be the balancer itself"#)
    }

    @Test("an integer flag takes plain decimal digits only; an overflowing one is reported as given", arguments: [
        ("+5", #"invalid --workers "+5": must be an integer between 1 and 256"#),
        ("-0", #"invalid --workers "-0": must be an integer between 1 and 256"#),
        ("1e3", #"invalid --workers "1e3": must be an integer between 1 and 256"#),
        ("0x10", #"invalid --workers "0x10": must be an integer between 1 and 256"#),
        ("007", #"invalid --workers "007": must be an integer between 1 and 256"#),
        (" 5", #"invalid --workers " 5": must be an integer between 1 and 256"#),
        ("18446744073709551615", #"invalid --workers "18446744073709551615": must be between 1 and 256"#),
        ("-18446744073709551615", #"invalid --workers "-18446744073709551615": must be between 1 and 256"#),
    ])
    func integerForms(text: String, line: String) {
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--workers": text])) == line)
    }

    @Test("a --service port takes plain decimal digits only", arguments: ["+9000", "09000", "0x2328"])
    func servicePortForms(port: String) {
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], services: ["p2p=\(port)"])) ==
            #"invalid --service "p2p=\#(port)": the listen port must be between 1 and 65535"#)
    }

    @Test("an integer in the file too large for 64 bits is reported as written, not wrapped")
    func fileIntegerOverflow() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "workers": 18446744073709551615}"#)
        #expect(rejection(file: file.path, ConfigOverrides()) ==
            #"invalid workers "18446744073709551615" in \#(file.path): must be between 1 and 256"#)
        let port = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "services": [{"name": "p2p", "listenPort": 18446744073709551615}]}"#)
        #expect(rejection(file: port.path, ConfigOverrides()) ==
            #"invalid services[0].listenPort "18446744073709551615" in \#(port.path): must be a port between 1 and 65535"#)
    }

    @Test("an IP-like node host in inet_aton's old forms is refused like a bad dotted quad",
          arguments: ["0x7f004602", "2130706434", "127.1", "0177.0.0.1", "10.0.0.0x1"])
    func legacyIPv4(host: String) {
        #expect(rejection(ConfigOverrides(nodes: [host])) ==
            #"invalid --node "\#(host)": the host is not a valid IPv4 address; write four decimal numbers, as in 10.0.0.1"#)
    }

    @Test("host names that merely contain digits are still host names", arguments: ["tessera-1", "0x7f.example.com", "a1.b2", "10.example"])
    func hostNamesWithDigits(host: String) {
        #expect(rejection(ConfigOverrides(nodes: [host])) == nil)
    }

    @Test("a host name beyond DNS's limits is refused with a short message")
    func hostNameTooLong() {
        let long = String(repeating: "a", count: 100_000)
        let line = rejection(ConfigOverrides(nodes: [long])) ?? ""
        #expect(line.hasSuffix(": the host name is 100000 characters long; at most 253 are allowed"), "\(line.prefix(300))")
        #expect(line.utf8.count < 400, "the value is cut: \(line.utf8.count) bytes")
        let label = String(repeating: "b", count: 64)
        #expect(rejection(ConfigOverrides(nodes: [label])) ==
            #"invalid --node "\#(label)": a part of the host name between dots is longer than 63 characters"#)
        let longest = (0..<4).map { _ in String(repeating: "c", count: 62) }.joined(separator: ".") + ".d"
        #expect(longest.count == 253)
        #expect(rejection(ConfigOverrides(nodes: [longest])) == nil)
    }

    @Test("a probe answer no node can give is refused", arguments: [
        (ConfigOverrides(nodes: ["10.0.0.1"], ["--health-status": "100"]), #"invalid --health-status "100": must be between 200 and 599"#),
        (ConfigOverrides(nodes: ["10.0.0.1"], ["--health-status": "204"]),
         #"invalid --health-status "204": a 204 answer has no body, so a body is never matched; give --health-body "" (or "expectBody": "") with --health-status 204"#),
        (ConfigOverrides(nodes: ["10.0.0.1"], ["--health-status": "304", "--health-body": "up"]),
         #"invalid --health-body "up": a 304 answer has no body, so a body is never matched; give --health-body "" (or "expectBody": "") with --health-status 304"#),
    ])
    func impossibleProbe(overrides: ConfigOverrides, line: String) {
        #expect(rejection(overrides) == line)
    }

    @Test("a probe body longer than the probe reads is refused; with the probe off it does not matter")
    func impossibleBody() {
        let body = String(repeating: "x", count: 65_537)
        let line = rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--health-body": body])) ?? ""
        #expect(line.hasPrefix("invalid --health-body "), "\(line.prefix(200))")
        #expect(line.hasSuffix(": is 65537 bytes; the probe reads at most 65536 bytes of the answer, so it never matches"))
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--no-health": "false", "--health-body": body])) == nil)
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--health-status": "204", "--health-body": ""])) == nil)
    }
}
