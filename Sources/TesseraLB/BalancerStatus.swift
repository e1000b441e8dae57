import LBBalancing
import LBForwarding
import LBSystem
import Synchronization

/// A point-in-time reading of what the balancer is doing (summed across workers; no locks taken).
public struct BalancerStatus: Sendable {
    public struct Node: Sendable {
        public let name: String
        /// `up`, `down` (health loop), `failed-out` (max_fails within fail_timeout), `draining` or `disabled`
        /// (operator).
        public let state: String
        public let activeConnections: Int
        public let connectFailures: Int
    }

    public let openConnections: Int
    public let acceptedConnections: Int
    public let bytesUp: Int
    public let bytesDown: Int
    public let nodes: [Node]
}

extension Balancer {
    /// Reads the counters and node states now.
    public func status() -> BalancerStatus {
        let counters = self.counters
        func sum(_ read: (WorkerCounters) -> Int) -> Int { counters.reduce(0) { $0 + read($1) } }
        let now = MonotonicClock.nowMilliseconds()
        return BalancerStatus(
            openConnections: openConnections,
            acceptedConnections: sum { $0.accepted.load(ordering: .relaxed) },
            bytesUp: sum { $0.bytesUp.load(ordering: .relaxed) },
            bytesDown: sum { $0.bytesDown.load(ordering: .relaxed) },
            nodes: nodes.map { node in
                BalancerStatus.Node(
                    name: node.name,
                    state: node.adminState != .enabled ? node.adminState.name
                        : !node.isMarkedUp ? "down" : node.isFailedOut(now: now) ? "failed-out" : "up",
                    activeConnections: node.activeConnections.load(ordering: .relaxed),
                    connectFailures: node.connectFailures.load(ordering: .relaxed)
                )
            }
        )
    }
}
