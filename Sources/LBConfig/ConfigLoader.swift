internal import Foundation

/// Builds the balancer's configuration from its sources, each overriding the one before:
/// defaults < config file < imported Tessera config files < environment < flags.
public enum ConfigLoader {
    /// The process's environment: where `load` reads `TESSERA_LB_...` variables unless told otherwise.
    public static var processEnvironment: [String: String] { ProcessInfo.processInfo.environment }

    /// Loads and validates the configuration; the first invalid setting is thrown.
    ///
    /// - Parameters:
    ///   - file: The `--config` file, if any; without it, `TESSERA_LB_CONFIG` names the file.
    ///   - overrides: The flags. A flag overrides every other source; `--node` and `--service` replace the
    ///     whole list rather than adding to it.
    ///   - environment: The `TESSERA_LB_...` variables (others are ignored), and the values of `${VAR}`
    ///     templates in imported files.
    ///   - importer: Reads `--tessera-config` files (`TesseraConfigImporter` from LBTessera); without one, such
    ///     files are an error.
    public static func load(
        file: String?,
        overrides: ConfigOverrides,
        environment: [String: String] = ConfigLoader.processEnvironment,
        importer: (any ConfigImporter)? = nil
    ) throws(ConfigError) -> BalancerConfig {
        let variables = try EnvironmentVariables(environment)
        var merged = MergedConfig()
        if let file {
            try ConfigFileReader(path: file).apply(to: &merged)
        } else if let file = variables.configFile {
            try ConfigFileReader(path: file, setting: EnvironmentVariables.configFile).apply(to: &merged)
        }
        let (setting, files) = overrides.tesseraConfigs.isEmpty
            ? (EnvironmentVariables.tesseraConfigs, variables.tesseraConfigs)
            : (ListSetting.tesseraConfigs.flag, overrides.tesseraConfigs)
        if !files.isEmpty {
            guard let importer else {
                throw ConfigError(setting: setting, value: nil, problem: "this program cannot read Tessera config files")
            }
            merged.apply(try importer.importSettings(files: files, setting: setting, environment: environment))
        }
        try merged.apply(.environment(variables))
        try merged.apply(.flags(overrides))
        try merged.finish()
        return merged.config
    }
}
