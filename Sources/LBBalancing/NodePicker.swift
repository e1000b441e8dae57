import Synchronization

/// A set of node indices, as a 64-bit mask (the balancer allows at most 64 nodes).
public struct NodeSet: Sendable, Equatable {
    public var bits: UInt64
    public init(bits: UInt64 = 0) { self.bits = bits }
    @inline(__always) public func contains(_ i: Int) -> Bool { bits & (1 << UInt64(i)) != 0 }
    @inline(__always) public mutating func insert(_ i: Int) { bits |= 1 << UInt64(i) }
    @inline(__always) public mutating func remove(_ i: Int) { bits &= ~(1 << UInt64(i)) }
}

/// Chooses a node for each new connection. One picker per worker: its cursor is private, so picking takes
/// no lock and touches no shared line but the nodes' own state.
public struct NodePicker: Sendable {
    public let algorithm: BalanceAlgorithm
    private var cursor: Int

    /// - Parameter start: the first node this picker offers (workers start at different nodes so that a
    ///   handful of connections over several workers still spreads).
    public init(algorithm: BalanceAlgorithm, start: Int = 0) {
        self.algorithm = algorithm
        self.cursor = start
    }

    /// The next node for a connection, skipping unavailable nodes and those in `excluding`; nil if none.
    @inline(__always)
    public mutating func pick(from nodes: [NodeState], service: Int = 0, excluding: NodeSet, now: Int64) -> Int? {
        switch algorithm {
        case .roundrobin: pickRoundRobin(nodes, service, excluding, now)
        case .leastconn: pickLeastConnections(nodes, service, excluding, now)
        }
    }

    /// With every node unavailable: the node whose last failed connect is the oldest, not yet tried
    /// (the `least-recently-failed` all-down policy). Nil when all were tried.
    public func pickLeastRecentlyFailed(from nodes: [NodeState], excluding: NodeSet) -> Int? {
        var best: Int? = nil
        var oldest = Int64.max
        for i in nodes.indices where !excluding.contains(i) {
            let at = nodes[i].lastFailureAt.load(ordering: .relaxed)
            if at < oldest {
                oldest = at
                best = i
            }
        }
        return best
    }

    private mutating func pickRoundRobin(_ nodes: [NodeState], _ service: Int, _ excluding: NodeSet, _ now: Int64) -> Int? {
        let count = nodes.count
        for step in 0..<count {
            let i = (cursor + step) % count
            if !excluding.contains(i) && nodes[i].isAvailable(now: now, service: service) {
                cursor = (i + 1) % count
                return i
            }
        }
        return nil
    }

    private mutating func pickLeastConnections(_ nodes: [NodeState], _ service: Int, _ excluding: NodeSet, _ now: Int64) -> Int? {
        let count = nodes.count
        var best: Int? = nil
        var bestLoad = Int.max
        for step in 0..<count {
            let i = (cursor + step) % count
            guard !excluding.contains(i) && nodes[i].isAvailable(now: now, service: service) else { continue }
            let load = nodes[i].activeConnections.load(ordering: .relaxed)
            if load < bestLoad {
                best = i
                bestLoad = load
            }
        }
        if let best { cursor = (best + 1) % count }
        return best
    }
}
