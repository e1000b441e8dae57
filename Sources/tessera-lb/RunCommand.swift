import ArgumentParser
import LBConfig
import Logging
import TesseraLB

/// `tessera-lb run`: forward the services to the nodes until SIGTERM or SIGINT.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Balance TCP connections for each service over the nodes."
    )

    @OptionGroup var options: RunOptions

    func run() throws {
        let config = try options.loadConfig()
        if options.printConfig {
            print(ConfigWriter.json(config))
            return
        }
        let logger = bootstrapStdoutLogging(label: "tessera-lb")
        let signals = SignalWaiter.blockTerminationSignals()
        let balancer: Balancer
        do {
            balancer = try Balancer(config: config, logger: logger)
            try balancer.start()
        } catch {
            throw StartError(message: error.description)
        }
        let signal = signals.wait()
        logger.info("stopping", metadata: ["signal": "\(signal)"])
        balancer.stop()
        logger.info("stopped")
    }
}
