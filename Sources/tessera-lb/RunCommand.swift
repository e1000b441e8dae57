import ArgumentParser
import Foundation
import Glibc
import LBAdminServer
import LBConfig
import Logging
import TesseraLB

/// `tessera-lb run`: forward the services to the nodes until SIGTERM or SIGINT; SIGHUP reloads the configuration.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Balance TCP connections for each service over the nodes.",
        usage: RunOptions.usage("run", operating: " [<operating options>]"),
        discussion: RunOptions.settingsHelp
    )

    @OptionGroup var options: RunOptions
    @OptionGroup(title: "Operating") var operating: AdminOptions

    func run() throws {
        // SIGHUP's default action ends the process: blocked from the start, taken as a reload once running.
        let signals = SignalWaiter.blockTerminationAndReloadSignals()
        // A reload reads the environment the process started with (it cannot change in a running process).
        let environment = ConfigLoader.processEnvironment
        let overrides = try options.overrides()
        let config = try RunOptions.load(overrides, environment: environment)
        let admin = try operating.resolve()
        if options.printConfig {
            print(ConfigWriter.json(config))
            return
        }
        let logger = admin.bootstrapLogging(label: "tessera-lb")
        let balancer: Balancer
        do {
            balancer = try Balancer(config: config, logger: logger, logConnections: admin.logConnections)
        } catch {
            throw StartError(message: error.description)
        }
        let reloader = Reloader(overrides: overrides, environment: environment, balancer: balancer, logger: logger)
        // The admin listener is bound before the balancer's listeners open: once they are, clients may take every
        // descriptor, and neither an event loop nor a socket could be had then (NIO stops the process when it
        // cannot create an event loop). It listens once the balancer forwards.
        let bound = try admin.bindAdminServer(for: balancer, logger: logger) { from in reloader.reload(from: from) }
        do {
            try balancer.start()
        } catch {
            bound?.stop()
            throw StartError(message: error.description)
        }
        let adminServer: AdminServer?
        do {
            adminServer = try admin.listen(bound, showing: balancer.adminView, logger: logger)
        } catch {
            balancer.stop()
            throw error
        }
        reloader.attach(adminServer)
        let signal = signals.waitForTermination { reload in _ = reloader.reload(from: reload) }
        // A second signal exits at once (during the accept grace too); the first stops gracefully. SIGHUP no
        // longer reloads.
        Thread.detachNewThread {
            let again = signals.waitForTermination { ignored in
                logger.warning("reload ignored: stopping", metadata: ["signal": "\(ignored)"])
            }
            logger.warning("second signal: exiting without waiting for connections", metadata: ["signal": "\(again)"])
            Glibc.exit(1)
        }
        // Not ready at once (/readyz 503, `tessera-lb health` fails), but accepting for the accept grace: the
        // time keepalived or a Service needs to send new clients elsewhere, so none is refused meanwhile.
        balancer.beginStopping()
        let grace = balancer.config.acceptGraceMs
        if grace > 0 {
            logger.info(
                "stopping: not ready, still accepting during the accept grace",
                metadata: ["signal": "\(signal)", "accept_grace_ms": "\(grace)", "open": "\(balancer.openConnections)"]
            )
            usleep(useconds_t(grace) * 1_000)
        }
        logger.info(
            "draining: listeners closed, waiting for open connections",
            metadata: ["signal": "\(signal)", "open": "\(balancer.openConnections)", "timeout_ms": "\(balancer.config.drainTimeoutMs)"]
        )
        let left = balancer.drain(timeoutMs: balancer.config.drainTimeoutMs)
        if left > 0 { logger.warning("drain timeout: closing the connections still open", metadata: ["open": "\(left)"]) }
        // The admin listener stays up while draining (the status page shows it) and reads the workers'
        // counters: it stops before they do.
        adminServer?.stop()
        balancer.stop()
        logger.info("stopped")
    }
}
