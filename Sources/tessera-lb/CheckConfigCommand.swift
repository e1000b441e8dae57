import ArgumentParser
import LBConfig

/// `tessera-lb check-config`: load and validate the configuration as `run` would, without starting.
///
/// Prints `ok` and exits 0, or prints the one-line error and exits 2 (through `TesseraLBCommand.main`). With
/// `--print-config` it prints the effective configuration instead of `ok`.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration (config file, Tessera config files, environment, flags) and exit.",
        usage: RunOptions.usage("check-config"),
        discussion: "Takes the same settings as run. Prints ok, or the first invalid setting and exits with status 2.\n\n"
            + RunOptions.settingsHelp
    )

    @OptionGroup var options: RunOptions

    func run() throws {
        let config = try options.loadConfig()
        print(options.printConfig ? ConfigWriter.json(config) : "ok")
    }
}
