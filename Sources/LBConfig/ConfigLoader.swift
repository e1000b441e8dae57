/// Builds the balancer's configuration: defaults, then the config file, then flags.
public enum ConfigLoader {
    /// Loads and validates the configuration; the first invalid setting is thrown.
    ///
    /// - Parameters:
    ///   - file: The `--config` file, if any.
    ///   - overrides: The flags. A flag overrides the file's value; `--node` and `--service` replace the
    ///     file's whole list rather than adding to it.
    public static func load(file: String?, overrides: ConfigOverrides) throws(ConfigError) -> BalancerConfig {
        var config = BalancerConfig()
        if let file { try ConfigFileReader(path: file).apply(to: &config) }
        try apply(overrides, to: &config)
        guard !config.nodes.isEmpty else {
            throw ConfigError(
                setting: NodeSyntax.flag, value: nil,
                problem: "at least one node is required; give --node HOST[:name] or \"nodes\" in the config file"
            )
        }
        return config
    }

    private static func apply(_ overrides: ConfigOverrides, to config: inout BalancerConfig) throws(ConfigError) {
        if !overrides.nodes.isEmpty {
            var nodes: [(node: BalancerConfig.Node, given: GivenValue)] = []
            for text in overrides.nodes {
                let given = flagValue(NodeSyntax.flag, text)
                let node = try given.check { () throws(ConfigProblem) in try NodeSyntax.parse(text) }
                nodes.append((node, given))
            }
            try ListRules.checkNodes(nodes, list: flagValue(NodeSyntax.flag, nil))
            config.nodes = nodes.map(\.node)
        }
        if !overrides.services.isEmpty {
            var services: [(service: BalancerConfig.Service, name: GivenValue, listenPort: GivenValue)] = []
            for text in overrides.services {
                let given = flagValue(ServiceSyntax.flag, text)
                let service = try given.check { () throws(ConfigProblem) in try ServiceSyntax.parse(text) }
                services.append((service, given, given))
            }
            try ListRules.checkServices(services, list: flagValue(ServiceSyntax.flag, nil))
            config.services = services.map(\.service)
        }
        for setting in ScalarSetting.all {
            guard let text = setting.override(overrides) else { continue }
            try flagValue(setting.flag, text).check { () throws(ConfigProblem) in try setting.store(text, &config) }
        }
    }

    private static func flagValue(_ flag: String, _ text: String?) -> GivenValue {
        GivenValue(setting: flag, text: text, file: nil)
    }
}
