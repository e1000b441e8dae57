import LBConfig
import Testing

/// `--allow SERVICE=ENTRY[,ENTRY...]`, `TESSERA_LB_ALLOW` and a service's `allow` in the config file.
@Suite("Allowlist settings")
struct AllowSettingTests {
    @Test("flags set a service's list; entries are addresses, networks and host names")
    func flags() throws {
        var overrides = ConfigOverrides(nodes: ["10.0.0.1"])
        overrides.allow = ["p2p=10.0.0.0/8,::1,peer.example", "q2t=[fd00::]/8"]
        let config = try loadIsolated(file: nil, overrides: overrides)
        #expect(config.services.first { $0.name == "p2p" }?.allow == ["10.0.0.0/8", "::1", "peer.example"])
        #expect(config.services.first { $0.name == "q2t" }?.allow == ["fd00::/8"])
        #expect(config.services.first { $0.name == "thirdparty" }?.allow == nil, "a service without a list admits all")
        // The printed configuration carries the lists and loads back equal.
        #expect(ConfigWriter.json(config).contains(#""allow": ["10.0.0.0/8", "::1", "peer.example"]"#))
    }

    @Test("the environment takes items separated by ';'")
    func environment() throws {
        let config = try loadIsolated(
            file: nil, overrides: ConfigOverrides(),
            environment: ["TESSERA_LB_NODES": "10.0.0.1", "TESSERA_LB_ALLOW": "p2p=10.1.0.0/16,10.2.0.1;q2t=127.0.0.1"]
        )
        #expect(config.services.first { $0.name == "p2p" }?.allow == ["10.1.0.0/16", "10.2.0.1"])
        #expect(config.services.first { $0.name == "q2t" }?.allow == ["127.0.0.1"])
    }

    @Test("a bad entry or an unknown service is named", arguments: [
        ("nope=10.0.0.1", #"invalid --allow "nope=10.0.0.1": no service is named nope; the services are p2p, thirdparty, q2t"#),
        ("p2p=10.0.0.0/33", #"invalid --allow "p2p=10.0.0.0/33": the prefix length after the / must be between 0 and 32"#),
        ("p2p=host.example/8", #"invalid --allow "p2p=host.example/8": "host.example" before the / is not an IPv4 or IPv6 address"#),
        ("p2p=10.0.0.1,", #"invalid --allow "p2p=10.0.0.1,": an entry is empty"#),
        ("10.0.0.1", #"invalid --allow "10.0.0.1": expected SERVICE=ADDRESS[/PREFIX][,...], such as p2p=10.0.0.0/24,peer.example.com"#),
    ])
    func errors(text: String, line: String) {
        var overrides = ConfigOverrides(nodes: ["10.0.0.1"])
        overrides.allow = [text]
        #expect(rejection(overrides) == line)
    }
}
