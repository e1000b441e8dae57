import Synchronization

/// nginx's `max_fails` / `fail_timeout`: `maxFails` failed connects within `failTimeout` take a node out of
/// every pool for `failTimeout`; a successful connect clears the count. `maxFails == 0` turns it off.
public struct PassiveHealth: Sendable {
    public let maxFails: Int
    public let failTimeoutMs: Int64

    public init(maxFails: Int, failTimeoutMs: Int64) {
        self.maxFails = maxFails
        self.failTimeoutMs = failTimeoutMs
    }

    /// Counts a failed connect to `node` at `now`. Returns true when this failure took the node out.
    ///
    /// Racing workers may both open a new window or both count the last failure; either way the node goes
    /// out once the count reaches `maxFails`, which is all the rule promises.
    @discardableResult
    public func recordFailure(_ node: NodeState, now: Int64) -> Bool {
        node.connectFailures.add(1, ordering: .relaxed)
        node.lastFailureAt.store(now, ordering: .relaxed)
        guard maxFails > 0 else { return false }
        let windowStart = node.failureWindowStart.load(ordering: .relaxed)
        let count: Int
        if now - windowStart >= failTimeoutMs {
            node.failureWindowStart.store(now, ordering: .relaxed)
            node.failures.store(1, ordering: .relaxed)
            count = 1
        } else {
            count = node.failures.add(1, ordering: .relaxed).newValue
        }
        guard count >= maxFails else { return false }
        node.failures.store(0, ordering: .relaxed)
        let previous = node.failedOutUntil.exchange(now + failTimeoutMs, ordering: .relaxed)
        return previous <= now
    }

    /// Counts a successful connect: the failure count starts again.
    @inline(__always)
    public func recordSuccess(_ node: NodeState) {
        guard maxFails > 0 else { return }
        if node.failures.load(ordering: .relaxed) != 0 { node.failures.store(0, ordering: .relaxed) }
    }
}
