import LBConfig
import Testing

/// `--mirror-partyinfo on|off`, `TESSERA_LB_MIRROR_PARTYINFO` and `mirrorPartyinfo` in the config file.
@Suite("Partyinfo mirroring setting")
struct MirrorSettingTests {
    @Test("on by default; the file, the environment and the flag set it, each over the one before")
    func sources() throws {
        let nodes = ConfigOverrides(nodes: ["10.0.0.1"])
        #expect(try loadIsolated(file: nil, overrides: nodes).mirrorPartyinfo == .on)
        let file = try temporaryFile(#"{"nodes": ["10.0.0.1"], "mirrorPartyinfo": "off"}"#)
        #expect(try loadIsolated(file: file.path, overrides: ConfigOverrides()).mirrorPartyinfo == .off)
        let environment = ["TESSERA_LB_MIRROR_PARTYINFO": "on"]
        #expect(try loadIsolated(file: file.path, overrides: ConfigOverrides(), environment: environment).mirrorPartyinfo == .on)
        var flag = ConfigOverrides()
        flag.values["--mirror-partyinfo"] = "off"
        #expect(try loadIsolated(file: file.path, overrides: flag, environment: environment).mirrorPartyinfo == .off)
        // The printed configuration says it and loads back the same.
        #expect(ConfigWriter.json(try loadIsolated(file: file.path, overrides: ConfigOverrides())).contains(#""mirrorPartyinfo": "off""#))
    }

    @Test("anything but on or off is refused with a one-line error naming the source")
    func errors() throws {
        var flag = ConfigOverrides(nodes: ["10.0.0.1"])
        flag.values["--mirror-partyinfo"] = "yes"
        #expect(rejection(flag) == #"invalid --mirror-partyinfo "yes": must be on or off"#)
        #expect(rejection(environment: ["TESSERA_LB_MIRROR_PARTYINFO": "true"], ConfigOverrides(nodes: ["10.0.0.1"]))
            == #"invalid TESSERA_LB_MIRROR_PARTYINFO "true": must be on or off"#)
        let file = try temporaryFile(#"{"nodes": ["10.0.0.1"], "mirrorPartyinfo": true}"#)
        #expect(rejection(file: file.path, ConfigOverrides())?.hasPrefix("invalid mirrorPartyinfo \"true\" in ") == true)
    }
}
