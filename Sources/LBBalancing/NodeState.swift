public import Synchronization

/// The shared, lock-free state of one node, read by every forwarding worker and written by the health loop
/// and by workers' failed connects. Every field is an atomic word: no locks on the hot path.
public final class NodeState: Sendable {
    /// The node's name, for logs and status.
    public let name: String
    /// False while the health loop (or an operator) has the node out of every pool.
    let markedUp: Atomic<Bool>
    /// What an operator set: enabled, draining or disabled (`AdminState.rawValue`). Probes never change it.
    let admin = Atomic<Int>(AdminState.enabled.rawValue)
    /// Passive health: the node is out until this monotonic time (ms); 0 when not failed out.
    let failedOutUntil = Atomic<Int64>(0)
    /// Passive health: failed connects in the current window, and when the window began.
    let failures = Atomic<Int>(0)
    let failureWindowStart = Atomic<Int64>(0)
    /// Services (bit = service index) whose own probe failed (health scope `service`): the node is out of those
    /// services' pools only.
    let servicesDown = Atomic<UInt64>(0)
    /// Bumped each time the node is marked down, so workers close its open connections once per mark-down.
    public let markDownEpoch = Atomic<Int>(0)
    /// When the last failed connect happened (monotonic ms), for the all-down fallback.
    public let lastFailureAt = Atomic<Int64>(0)
    /// Open connections to this node across all workers (for leastconn, and status).
    public let activeConnections = Atomic<Int>(0)
    /// Failed connects ever (for status and metrics).
    public let connectFailures = Atomic<Int>(0)
    /// Held out by the group check's policy (its own keys differ from the majority's): no new connections,
    /// open ones finish, as draining. Apart from the operator's state, which it never changes.
    let heldOut = Atomic<Bool>(false)

    public init(name: String, initiallyUp: Bool = true) {
        self.name = name
        self.markedUp = Atomic(initiallyUp)
    }

    /// Whether the health loop has the node in the pools.
    public var isMarkedUp: Bool { markedUp.load(ordering: .relaxed) }

    /// Puts the node in or out of every pool at once (health loop, operator). Returns the previous value.
    /// Marking down also bumps `markDownEpoch`, which tells workers to deal with its open connections.
    @discardableResult
    public func setMarkedUp(_ up: Bool) -> Bool {
        let previous = markedUp.exchange(up, ordering: .relaxed)
        if previous && !up { markDownEpoch.add(1, ordering: .relaxed) }
        if up { failedOutUntil.store(0, ordering: .relaxed) }
        return previous
    }

    /// Puts the node in or out of one service's pool (health scope `service`).
    public func setServiceUp(_ service: Int, _ up: Bool) {
        let bit = UInt64(1) << UInt64(service)
        if up {
            servicesDown.bitwiseAnd(~bit, ordering: .relaxed)
        } else if servicesDown.bitwiseOr(bit, ordering: .relaxed).oldValue & bit == 0 {
            markDownEpoch.add(1, ordering: .relaxed)
        }
    }

    /// The services (bit = service index) whose own probe has the node out of their pools.
    public var servicesDownMask: UInt64 { servicesDown.load(ordering: .relaxed) }

    /// Replaces the per-service verdicts at once, for a reload whose services moved to other indices. Does not
    /// bump `markDownEpoch`: no verdict changed, only where it is kept.
    public func replaceServicesDown(_ mask: UInt64) {
        servicesDown.store(mask, ordering: .relaxed)
    }

    /// Whether the node's own probe for `service` has it out of that service's pool.
    public func isServiceDown(_ service: Int) -> Bool {
        servicesDown.load(ordering: .relaxed) & (UInt64(1) << UInt64(service)) != 0
    }

    /// The operator's setting for this node.
    public var adminState: AdminState { AdminState(rawValue: admin.load(ordering: .relaxed)) ?? .enabled }

    /// Sets the operator's state: `draining` takes no new connections and lets open ones finish; `disabled`
    /// takes none and has workers deal with open ones as for a node marked down. Survives probe results.
    public func setAdminState(_ state: AdminState) {
        let previous = admin.exchange(state.rawValue, ordering: .relaxed)
        if state == .disabled && previous != AdminState.disabled.rawValue { markDownEpoch.add(1, ordering: .relaxed) }
    }

    /// Holds the node out of new connections (group policy), or lets it back. Returns the previous value.
    @discardableResult
    public func setHeldOut(_ held: Bool) -> Bool {
        heldOut.exchange(held, ordering: .relaxed)
    }

    /// Whether the group check's policy holds the node out.
    public var isHeldOut: Bool { heldOut.load(ordering: .relaxed) }

    /// Whether workers should close this node's open connections (marked down, or disabled by hand).
    public var isOut: Bool { !markedUp.load(ordering: .relaxed) || admin.load(ordering: .relaxed) == AdminState.disabled.rawValue }

    /// Whether new connections for `service` may go to this node now.
    @inline(__always)
    public func isAvailable(now: Int64, service: Int = 0) -> Bool {
        markedUp.load(ordering: .relaxed) && admin.load(ordering: .relaxed) == 0 && failedOutUntil.load(ordering: .relaxed) <= now
            && servicesDown.load(ordering: .relaxed) & (UInt64(1) << UInt64(service)) == 0 && !heldOut.load(ordering: .relaxed)
    }

    /// Whether the node should hear what its group hears on `service` (partyinfo mirroring): it serves, even if
    /// draining or held out of new connections; not when marked down, disabled, down for the service or failed
    /// out by passive health.
    public func isServing(now: Int64, service: Int) -> Bool {
        !isOut && !isServiceDown(service) && !isFailedOut(now: now)
    }

    /// Whether passive health has the node out at `now`.
    public func isFailedOut(now: Int64) -> Bool {
        failedOutUntil.load(ordering: .relaxed) > now
    }
}

/// A node state set by an operator, which probes do not override.
public enum AdminState: Int, Sendable, CaseIterable {
    case enabled = 0
    case draining = 1
    case disabled = 2

    public var name: String {
        switch self {
        case .enabled: "enabled"
        case .draining: "draining"
        case .disabled: "disabled"
        }
    }
}
