import ArgumentParser
import Foundation
import Glibc
import LBAdminServer
import LBConfig
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TesseraLB

/// `tessera-lb run`: forward the services to the nodes until SIGTERM or SIGINT; SIGHUP reloads the configuration.
/// Start-up is synchronous (its failures are one line and a status); then the services run as a group.
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
        // Blocked in this thread and so in every thread started from here on (they inherit the mask): SIGHUP's
        // default action would end the process before the group takes it as a reload, and a thread that does
        // not block them could take them from the group (see SignalService).
        blockSignals([SIGTERM, SIGINT, SIGHUP])
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
        // The signal sources take descriptors (a signalfd each, libdispatch's epoll): registered before the
        // listeners open, for the reason the admin listener is bound first (below).
        let signals = try waitFor { await SignalService.trapping() }
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

        // Forwarding: run as a service group until it is shut down (docs/internals/lifecycle.md). The group
        // stops its services in the reverse of this order.
        let stopping = Stopping()
        typealias Named = ServiceGroupConfiguration.ServiceConfiguration
        var services: [Named] = [
            Named(service: SignalService(signals: signals, stopping: stopping, reloader: reloader, logger: logger), serviceName: "signals"),
            Named(service: BalancerService(balancer: balancer, logger: logger), serviceName: "balancer"),
        ]
        if let adminServer { services.append(Named(service: AdminService(server: adminServer), serviceName: "admin")) }
        services.append(Named(service: DrainService(balancer: balancer, stopping: stopping, logger: logger), serviceName: "drain"))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
        stopping.attach(group)
        do {
            try waitFor { try await group.run() }
        } catch {
            throw StartError(message: "stopped: \(error)")
        }
    }

    /// Waits on this thread for `operation`, which runs as a task. The command is synchronous so that the
    /// signals are blocked before any thread starts (docs/internals/lifecycle.md).
    private func waitFor<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
        let promise = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: T.self)
        promise.completeWithTask(operation)
        return try promise.futureResult.wait()
    }
}
