import LBBalancing
import LBConfig
public import LBGroup
import LBHealth
import Logging
import NIOSSL
import Synchronization

/// The group check running as a task of its own (off the probe loop).
final class GroupRun: Sendable {
    let checker: GroupChecker
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(_ checker: GroupChecker) {
        self.checker = checker
    }

    func start() {
        task.withLock { $0 = checker.start() }
    }

    /// Ends the loop without waiting for it.
    func cancel() {
        task.withLock { $0 }?.cancel()
    }
}

extension Balancer {
    /// The group check of `config` over `nodes`, or nil when it is off (`groupCheckIntervalMs` 0).
    ///
    /// Where it asks: the P2P server is the `p2p` service's node port (without a `p2p` service there is no
    /// check: the services may not be Tessera's), ThirdParty the `thirdparty` service's (without one, own keys
    /// go unchecked). Over HTTPS when the probe uses HTTPS, with its
    /// client certificate and trust.
    ///
    /// - Throws: `BalancerError` when the TLS files cannot be used.
    static func groupRun(
        of config: BalancerConfig, nodes: [NodeState], logger: Logger, onChange: @escaping @Sendable () -> Void
    ) throws(BalancerError) -> GroupRun? {
        // Only a group with a P2P service is a Tessera group to ask: other services may speak anything.
        guard config.groupCheckIntervalMs > 0, let p2pPort = config.services.first(where: { $0.name == "p2p" })?.nodePort
        else { return nil }
        let thirdPartyPort = config.services.first { $0.name == "thirdparty" }?.nodePort
        let targets = config.nodes.map {
            GroupChecker.Target(name: $0.name, host: $0.host, thirdPartyPort: thirdPartyPort, p2pPort: p2pPort)
        }
        let clientTLS = try Self.groupTLS(of: config)
        let checker = GroupChecker(
            targets: targets, nodes: nodes, intervalMs: config.groupCheckIntervalMs,
            timeoutMs: max(config.health.timeoutMs, 2_000),
            policy: config.groupPolicy == .holdOut ? .holdOut : .report, tls: clientTLS, logger: logger,
            onChange: onChange
        )
        return GroupRun(checker)
    }

    /// The group check's HTTPS settings: the probe's (nil: plain HTTP).
    ///
    /// - Throws: `BalancerError` when the TLS files cannot be used.
    static func groupTLS(of config: BalancerConfig) throws(BalancerError) -> TLSConfiguration? {
        do {
            return try Prober.tlsConfiguration(ProbeSettings(tls: probeTLS(of: config)))
        } catch {
            throw BalancerError("group check TLS settings: \(error)")
        }
    }

    /// What the last group check found; nil when the check is off.
    public var groupReport: GroupChecker.Report? { running.withLock { $0.group?.checker.report } }
}
