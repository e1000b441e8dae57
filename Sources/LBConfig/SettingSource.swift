/// Flags or environment variables: the two sources that give settings as text, by name. The loader applies
/// both the same way; only the names in errors differ (`--workers` or `TESSERA_LB_WORKERS`).
struct SettingSource {
    /// `--node` or `TESSERA_LB_NODES`.
    let nodesName: String
    let nodes: [String]
    /// `--service` or `TESSERA_LB_SERVICES`.
    let servicesName: String
    let services: [String]
    /// `--allow` or `TESSERA_LB_ALLOW`.
    let allowName: String
    let allow: [String]
    /// The setting's name in this source.
    let name: @Sendable (ScalarSetting) -> String
    /// The setting's value in this source, if given.
    let value: (ScalarSetting) -> String?

    static func flags(_ overrides: ConfigOverrides) -> SettingSource {
        SettingSource(
            nodesName: NodeSyntax.flag, nodes: overrides.nodes,
            servicesName: ServiceSyntax.flag, services: overrides.services,
            allowName: AllowSyntax.flag, allow: overrides.allow,
            name: \.flag, value: { overrides.values[$0.flag] }
        )
    }

    static func environment(_ variables: EnvironmentVariables) -> SettingSource {
        SettingSource(
            nodesName: EnvironmentVariables.nodes, nodes: variables.nodes,
            servicesName: EnvironmentVariables.services, services: variables.services,
            allowName: AllowSyntax.variable, allow: variables.allow,
            name: \.variable, value: { variables.values[$0.variable] }
        )
    }

    func given(_ setting: ScalarSetting, _ text: String?) -> GivenValue {
        GivenValue(setting: name(setting), text: text, file: nil)
    }
}
