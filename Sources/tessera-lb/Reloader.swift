import LBAdminServer
import LBConfig
import Logging
import TesseraLB

/// Re-reads the configuration from the sources `run` started with (the config file, the Tessera config files,
/// the environment as it was at start, the flags) and applies it: on SIGHUP and on `POST /reload`. One log
/// line per reload: what changed, or why the configuration was rejected (the running one stays).
final class Reloader: Sendable {
    private let overrides: ConfigOverrides
    private let environment: [String: String]
    private let balancer: Balancer
    private let logger: Logger

    init(overrides: ConfigOverrides, environment: [String: String], balancer: Balancer, logger: Logger) {
        self.overrides = overrides
        self.environment = environment
        self.balancer = balancer
        self.logger = logger
    }

    /// Shows `server` each configuration a reload applies (before the reload's log line).
    func attach(_ server: AdminServer?) {
        guard let server else { return }
        let balancer = self.balancer
        balancer.onReload { server.update(view: balancer.adminView) }
    }

    /// Loads, checks and applies the configuration.
    ///
    /// - Parameter from: who asked, for the log line (`SIGHUP`, or the admin client's address).
    func reload(from: String) -> ReloadOutcome {
        let config: BalancerConfig
        do {
            config = try RunOptions.load(overrides, environment: environment)
        } catch {
            return rejected("\(error)", from: from)
        }
        do {
            return .applied(try balancer.reload(to: config).changes)
        } catch {
            return rejected(error.description, from: from)
        }
    }

    private func rejected(_ reason: String, from: String) -> ReloadOutcome {
        logger.error("reload rejected, the running configuration stays: \(reason)", metadata: ["from": "\(from)"])
        return .rejected(reason)
    }
}
