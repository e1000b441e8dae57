public import Synchronization

/// The shared, lock-free state of one node, read by every forwarding worker and written by the health loop
/// and by workers' failed connects. Every field is an atomic word: no locks on the hot path.
public final class NodeState: Sendable {
    /// The node's name, for logs and status.
    public let name: String
    /// False while the health loop (or an operator) has the node out of every pool.
    let markedUp: Atomic<Bool>
    /// Passive health: the node is out until this monotonic time (ms); 0 when not failed out.
    let failedOutUntil = Atomic<Int64>(0)
    /// Passive health: failed connects in the current window, and when the window began.
    let failures = Atomic<Int>(0)
    let failureWindowStart = Atomic<Int64>(0)
    /// Open connections to this node across all workers (for leastconn, and status).
    public let activeConnections = Atomic<Int>(0)
    /// Failed connects ever (for status and metrics).
    public let connectFailures = Atomic<Int>(0)

    public init(name: String, initiallyUp: Bool = true) {
        self.name = name
        self.markedUp = Atomic(initiallyUp)
    }

    /// Whether the health loop has the node in the pools.
    public var isMarkedUp: Bool { markedUp.load(ordering: .relaxed) }

    /// Puts the node in or out of every pool at once (health loop, operator). Returns the previous value.
    @discardableResult
    public func setMarkedUp(_ up: Bool) -> Bool {
        markedUp.exchange(up, ordering: .relaxed)
    }

    /// Whether new connections may go to this node now.
    @inline(__always)
    public func isAvailable(now: Int64) -> Bool {
        markedUp.load(ordering: .relaxed) && failedOutUntil.load(ordering: .relaxed) <= now
    }

    /// Whether passive health has the node out at `now`.
    public func isFailedOut(now: Int64) -> Bool {
        failedOutUntil.load(ordering: .relaxed) > now
    }
}
