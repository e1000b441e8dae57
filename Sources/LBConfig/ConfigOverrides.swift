/// Settings given on the command line, as the operator typed them: every value is text and is parsed and checked
/// by `ConfigLoader`, so a bad flag gets the same one-line error as a bad file value. `init(arguments:)` reads
/// them by `SettingsTable`.
///
/// nil (or an empty array) means the setting was not given.
public struct ConfigOverrides: Sendable, Equatable {
    /// `--node HOST[:name]`, repeatable; when given, replaces the file's node list. With `--tessera-config`, one
    /// per Tessera config file, in the same order.
    public var nodes: [String]
    /// `--service NAME=LISTENPORT[:NODEPORT]` or `NAME=unix:PATH:NODEPORT`, repeatable; when given, replaces the
    /// file's or the default services.
    public var services: [String]
    /// `--allow SERVICE=ENTRY[,ENTRY...]`, repeatable.
    public var allow: [String]
    /// `--tessera-config FILE`, repeatable: a Tessera node's own config file, one per node.
    public var tesseraConfigs: [String]
    /// `--config FILE`.
    public var configFile: String?
    /// The single-valued settings given, by flag: `["--workers": "4"]`. A flag without a value has the value it
    /// means (`--freebind` is `"true"`, `--no-health` is `"false"`).
    public var values: [String: String]

    public init(
        nodes: [String] = [],
        services: [String] = [],
        allow: [String] = [],
        tesseraConfigs: [String] = [],
        _ values: [String: String] = [:]
    ) {
        self.nodes = nodes
        self.services = services
        self.allow = allow
        self.tesseraConfigs = tesseraConfigs
        self.values = values
        for flag in values.keys {
            precondition(ScalarSetting.all.contains { $0.flag == flag }, "\(flag) is not a setting's flag")
        }
    }
}
