import ArgumentParser
import LBConfig
import LBTessera

/// The flags of `tessera-lb run` and `tessera-lb check-config`: the settings of `SettingsTable`
/// (docs/configuration.md) and `--print-config`.
///
/// ArgumentParser declares each flag as a property; the settings are a table, so they pass through here
/// unrecognized and `ConfigOverrides(arguments:)` reads them by the table, which also writes their `--help`
/// (`RunCommand`'s discussion). Every value is taken as text and handed to `ConfigLoader`, which parses and
/// checks it, so a bad value (`--workers abc`) gets the same one-line error and exit status 2 as a bad config
/// file value.
struct RunOptions: ParsableArguments {
    @Flag(help: "Print the effective configuration as a config file (JSON) and exit without starting.")
    var printConfig = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var settings: [String] = []

    /// The settings' flags, read.
    func overrides() throws(CommandLineError) -> ConfigOverrides {
        try ConfigOverrides(arguments: settings)
    }

    /// The configuration from `--config` (or TESSERA_LB_CONFIG), `--tessera-config` files, TESSERA_LB_...
    /// variables and the flags, in that order of precedence, validated.
    func loadConfig(environment: [String: String] = ConfigLoader.processEnvironment) throws -> BalancerConfig {
        try Self.load(overrides(), environment: environment)
    }

    static func load(_ overrides: ConfigOverrides, environment: [String: String]) throws(ConfigError) -> BalancerConfig {
        try ConfigLoader.load(
            file: overrides.configFile, overrides: overrides, environment: environment,
            importer: TesseraConfigImporter()
        )
    }

    /// What `--help` shows of `run` and `check-config`: the usage (the settings are not ArgumentParser's to
    /// list) and the settings.
    static func usage(_ command: String, operating: String = "") -> String {
        "tessera-lb \(command) [<setting> ...] [--print-config]\(operating)"
    }

    static let settingsHelp = "SETTINGS (docs/configuration.md; each also a TESSERA_LB_ variable):\n" + SettingsTable.help()
}
