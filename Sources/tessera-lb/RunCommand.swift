import ArgumentParser
import Foundation
import Glibc
import LBAdmin
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
    @OptionGroup(title: "Operating") var operating: AdminOptions

    func run() throws {
        let config = try options.loadConfig()
        let admin = try operating.resolve()
        if options.printConfig {
            print(ConfigWriter.json(config))
            return
        }
        let logger = admin.bootstrapLogging(label: "tessera-lb")
        if admin.logConnections {
            logger.warning("--log-connections is not implemented yet: no line is logged per connection")
        }
        let signals = SignalWaiter.blockTerminationSignals()
        let balancer: Balancer
        do {
            balancer = try Balancer(config: config, logger: logger)
            try balancer.start()
        } catch {
            throw StartError(message: error.description)
        }
        let adminServer: AdminServer?
        do {
            adminServer = try admin.startAdminServer(for: balancer, logger: logger)
        } catch {
            balancer.stop()
            throw error
        }
        let signal = signals.wait()
        // A second signal exits at once; the first drains.
        Thread.detachNewThread {
            let again = signals.wait()
            logger.warning("second signal: exiting without waiting for connections", metadata: ["signal": "\(again)"])
            Glibc.exit(1)
        }
        logger.info(
            "draining: listeners closed, waiting for open connections",
            metadata: ["signal": "\(signal)", "open": "\(balancer.status().openConnections)", "timeout_ms": "\(config.drainTimeoutMs)"]
        )
        let left = balancer.drain(timeoutMs: config.drainTimeoutMs)
        if left > 0 { logger.warning("drain timeout: closing the connections still open", metadata: ["open": "\(left)"]) }
        // The admin listener stays up while draining (the status page shows it) and reads the workers'
        // counters: it stops before they do.
        adminServer?.stop()
        balancer.stop()
        logger.info("stopped")
    }
}
