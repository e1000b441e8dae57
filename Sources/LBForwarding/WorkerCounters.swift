public import Synchronization

/// What one worker has done, for status and metrics. Each counter has a single writer (its worker), so
/// updates are plain relaxed atomics on lines no other worker writes; readers sum across workers.
public final class WorkerCounters: Sendable {
    public let accepted = Atomic<Int>(0)
    public let open = Atomic<Int>(0)
    public let bytesUp = Atomic<Int>(0)
    public let bytesDown = Atomic<Int>(0)
    public let connectFailures = Atomic<Int>(0)
    public let retries = Atomic<Int>(0)
    /// Clients closed because no node could take them.
    public let noNode = Atomic<Int>(0)
    public let events = Atomic<Int>(0)
    public let staleEvents = Atomic<Int>(0)
    public let pipesInUse = Atomic<Int>(0)
    public let pipesPooled = Atomic<Int>(0)
    /// Connections that fell back from splice to copy because no pipe could be had.
    public let copyFallbacks = Atomic<Int>(0)
    /// Connections the ring copy mover handed to splice because they carry bulk (io_uring, auto).
    public let movedToSplice = Atomic<Int>(0)
    /// Ring copy: recvs that ended because every provided buffer was in use (-ENOBUFS), re-armed later.
    public let buffersRanOut = Atomic<Int>(0)
    /// Connections closed because their node was marked down.
    public let closedOnMarkDown = Atomic<Int>(0)
    /// Clients closed at accept because their service's allowlist does not admit them (`--allow`).
    public let refusedByAllowlist = Atomic<Int>(0)
    /// Partyinfo mirroring: `POST /partyinfo` requests framed on the mirrored service, and those not mirrored
    /// (queue full, over the memory bounds). Written by the worker.
    public let partyinfoRequests = Atomic<Int>(0)
    public let partyinfoDropped = Atomic<Int>(0)
    /// Copies the nodes answered 2xx, and copies that failed (connect, timeout, other answers). Written by the
    /// worker's mirror thread (`MirrorSender`), the one writer of these two.
    public let partyinfoCopies = Atomic<Int>(0)
    public let partyinfoCopyFailures = Atomic<Int>(0)
    /// Connections of the mirrored service that are not HTTP/1.x (TLS...): forwarded as plain L4, never mirrored.
    public let unframedConnections = Atomic<Int>(0)
    /// Per service and node: the worker's own (empty in a sum, which keeps its counts in `summed`).
    public let serviceNodes: ServiceNodeCounters
    /// A sum's per service and node counts, by name (services and nodes differ between engines after a reload).
    private let summed = Mutex<[ServiceNodeCounters.Key: ServiceNodeCounters.Counts]>([:])

    /// A worker's counters, with a count per service and node of these names (index = the plan's); a sum's,
    /// with none.
    public init(services: [String] = [], nodes: [String] = []) {
        serviceNodes = ServiceNodeCounters(services: services, nodes: nodes)
    }

    /// The counts per service and node, by name: a worker's own, or what was added to a sum.
    public func serviceNodeTotals() -> [ServiceNodeCounters.Key: ServiceNodeCounters.Counts] {
        var totals = serviceNodes.totals()
        for (key, counts) in summed.withLock({ $0 }) { totals[key, default: .init()].add(counts) }
        return totals
    }

    /// Adds `other`'s counts to these (a sum over workers or engines); its gauges too when `gauges`.
    public func add(_ other: WorkerCounters, gauges: Bool) {
        func sum(_ into: borrowing Atomic<Int>, _ from: borrowing Atomic<Int>) {
            into.add(from.load(ordering: .relaxed), ordering: .relaxed)
        }
        sum(accepted, other.accepted)
        sum(bytesUp, other.bytesUp)
        sum(bytesDown, other.bytesDown)
        sum(connectFailures, other.connectFailures)
        sum(retries, other.retries)
        sum(noNode, other.noNode)
        sum(events, other.events)
        sum(staleEvents, other.staleEvents)
        sum(copyFallbacks, other.copyFallbacks)
        sum(movedToSplice, other.movedToSplice)
        sum(buffersRanOut, other.buffersRanOut)
        sum(closedOnMarkDown, other.closedOnMarkDown)
        sum(refusedByAllowlist, other.refusedByAllowlist)
        sum(partyinfoRequests, other.partyinfoRequests)
        sum(partyinfoDropped, other.partyinfoDropped)
        sum(partyinfoCopies, other.partyinfoCopies)
        sum(partyinfoCopyFailures, other.partyinfoCopyFailures)
        sum(unframedConnections, other.unframedConnections)
        let theirs = other.serviceNodeTotals()
        summed.withLock { summed in
            for (key, counts) in theirs { summed[key, default: .init()].add(counts) }
        }
        guard gauges else { return }
        sum(open, other.open)
        sum(pipesInUse, other.pipesInUse)
        sum(pipesPooled, other.pipesPooled)
    }
}

/// State every worker of one engine shares: the global connection count and the control flags.
final class EngineShared: Sendable {
    let openConnections = Atomic<Int>(0)
    let stopAccepting = Atomic<Bool>(false)
    let stop = Atomic<Bool>(false)
    /// When the last "descriptors exhausted" line was logged (monotonic ms, 0: never): at most one a minute
    /// per engine, not one per accept.
    let descriptorNoticeAt = Atomic<Int64>(0)
    /// Workers that, after `stopAccepting`, closed their listeners and can get no accepted socket any more.
    let doneAccepting = Atomic<Int>(0)
}

extension Atomic where Value == Int {
    /// Adds for a counter with one writer: a load and a store, no locked instruction.
    @inline(__always)
    func bump(_ delta: Int = 1) {
        store(load(ordering: .relaxed) &+ delta, ordering: .relaxed)
    }
}
