import Glibc
import LBBalancing
import LBEngine
import LBSystem
import Synchronization

/// What an engine needs of a worker, whatever its event source.
protocol WorkerLoop: AnyObject, Sendable {
    var counters: WorkerCounters { get }
    var connectionLog: ConnectionLogRing? { get }
    func run()
    func wake()
}

/// One forwarding worker: its own event source (an edge-triggered epoll instance or an io_uring, see
/// `EventSource`), its own SO_REUSEPORT listener per service, its own slots, pipes and buffers. Runs on its own
/// thread; nothing here is touched by another thread except the atomics in `counters`, `shared` and the
/// nodes' state.
///
/// A connection's path reads top to bottom across the extensions: accept (`Worker+Accept`), pick a node and
/// connect, retrying the next node on failure (`Worker+Connect`), bytes moved both ways by its mover
/// (`ReadinessPump` or `RingCopyMover`, behind `ByteMover`) until both halves have closed, release everything
/// (`Worker+Close`). Each step is an event for the connection's state (`ConnectionState`, `Worker.advance`).
final class Worker<Events: EventSource>: WorkerLoop, @unchecked Sendable {
    let index: Int
    let plan: ForwardingPlan
    let shared: EngineShared
    let counters: WorkerCounters
    let events: Events
    let wakeFd: Int32
    /// One listener per service; -1 once closed.
    var listeners: [Int32]
    /// Listeners paused after EMFILE/ENFILE until this time (0: not paused).
    var listenerPausedUntil: [Int64]
    /// The connection limit was reached; accept again when a connection closes.
    var pausedForLimit = false
    /// Clients the allowlists refused since the last line about them, and when that line was logged.
    var refusedSinceNotice = 0
    var refusalNoticeAt: Int64 = 0
    /// Clients the kernel accepted after the limit was reached (io_uring's multishot accept runs ahead of
    /// the pause), admitted first when connections close.
    var waitingClients: [(fd: Int32, service: Int)] = []
    /// Node sockets held in reserve for the client accepted next: a client is accepted only while the reserve
    /// is whole, and when socket(2) finds no descriptor the reserved socket is its node socket, so that an
    /// accepted client always gets one.
    var reserve: NodeSocketReserve
    /// Listeners closed after `stopAccepting`, and whether `shared.doneAccepting` counts this worker yet.
    var listenersClosed = false
    var reportedDoneAccepting = false
    let slots: SlotTable
    let pipes: PipePool
    let buffers: BufferPool
    var picker: NodePicker
    var now: Int64 = MonotonicClock.nowMilliseconds()
    /// Each node's mark-down epoch as this worker last acted on it.
    var seenMarkDowns: [Int]
    /// The byte movers (`ByteMover`). Every worker has the pump; the ring copy mover only where new connections
    /// start on it (io_uring engine, copy or auto mode), nil where bytes move on readiness only (epoll, and
    /// io_uring in splice mode). A connection's `Slot.ringCopy` says which one moves it.
    let pump: ReadinessPump<Events>
    let ringCopy: RingCopyMover<Events>?
    /// Whether new connections start on the ring copy mover. False with epoll, and with io_uring in splice mode
    /// (polls and direct calls), so not a test of the engine.
    @inline(__always) var movesByRingCopy: Bool { ringCopy != nil }
    /// The socket calls that go on the ring instead of being system calls (`RingSocketCalls`: io_uring engine, where
    /// the kernel has them); nil with epoll, or where the kernel runs none of them as requests.
    let socketCalls: RingSocketCalls?
    /// Whether node connects are ring requests (`RingSocketCalls.connects`, for connections that start on the ring
    /// copy mover): the connect's completion says connected or failed, and no poll watches the node socket.
    let connectsOnRing: Bool
    /// `--log-connections`: where ended connections' records go; nil when off.
    let connectionLog: ConnectionLogRing?
    /// `--mirror-partyinfo`: nil unless the plan mirrors a service.
    let mirror: PartyinfoMirror?

    static var listenerPauseMs: Int64 { 100 }

    init(index: Int, plan: ForwardingPlan, shared: EngineShared, listeners: [Int32], events: Events) throws(SystemError) {
        self.index = index
        self.plan = plan
        self.shared = shared
        self.counters = WorkerCounters(services: plan.services.map(\.name), nodes: plan.nodes.map(\.name))
        self.events = events
        self.wakeFd = try EventFd.make()
        self.listeners = listeners
        self.listenerPausedUntil = Array(repeating: 0, count: listeners.count)
        // Taken now, before the first client: io_uring's accepts may take every free descriptor at once.
        self.reserve = NodeSocketReserve(for: plan.services.flatMap(\.nodeAddresses))
        let capacity = max(16, plan.maxConnections)
        self.slots = SlotTable(capacity: capacity)
        self.pipes = PipePool(requestedSize: plan.pipeSize, notice: plan.notice)
        self.buffers = BufferPool(bufferSize: BufferPool.copyBufferSize, count: 2 * capacity)
        self.picker = NodePicker(algorithm: plan.balance, start: index % max(1, plan.nodes.count))
        self.seenMarkDowns = plan.nodes.map { $0.markDownEpoch.load(ordering: .relaxed) }
        precondition(capacity < 1 << 24, "slot indices must fit the token's 24 bits")
        connectionLog = plan.connectionLog == nil ? nil : ConnectionLogRing()
        mirror = try PartyinfoMirror(plan: plan, counters: counters)
        pump = ReadinessPump(slots: slots, pipes: pipes, buffers: buffers, counters: counters, plan: plan)
        if plan.mode != .splice, let ring = events.requestRing {
            ringCopy = try RingCopyMover(
                ring: ring, provided: plan.ringBuffers, slots: slots, pipes: pipes, buffers: buffers, counters: counters,
                plan: plan
            )
        } else {
            ringCopy = nil
        }
        if let ring = events.requestRing, RingSocketCalls.support.contains(.close) {
            let calls = RingSocketCalls(
                ring: ring, support: RingSocketCalls.support,
                nodeOptions: Socket.nodeOptions(userTimeoutMs: plan.nodeUserTimeoutMs, keepaliveIdleSeconds: plan.nodeKeepaliveSeconds),
                connectAddresses: plan.services.map(\.nodeAddresses)
            )
            socketCalls = calls
            connectsOnRing = calls.connects && plan.mode != .splice
        } else {
            socketCalls = nil
            connectsOnRing = false
        }
        try events.watchWake(wakeFd)
        for (i, fd) in listeners.enumerated() where fd >= 0 {
            try events.addListener(fd, index: i)
        }
    }

    deinit {
        closeDescriptor(wakeFd)
    }

    /// Wakes the loop from another thread (to see the control flags).
    func wake() { EventFd.signal(wakeFd) }

    // MARK: - The loop

    /// Runs until `shared.stop` is set; then closes every connection and listener.
    func run() {
        events.begin()
        mirror?.sender.start()
        while !shared.stop.load(ordering: .relaxed) {
            let timeout = nextTimeout()
            // The clock is read once per wake, before the first event: a wait may have slept for hours, and
            // what the events start (connect deadlines, accept times) must count from now, not from then.
            var clockRead = false
            let n = events.wait(timeoutMilliseconds: timeout) { token, result, flags in
                if !clockRead {
                    now = MonotonicClock.nowMilliseconds()
                    clockRead = true
                }
                handle(token: token, result: result, flags: flags)
            }
            counters.events.bump(n)
            now = MonotonicClock.nowMilliseconds()
            pump.endTurn(in: self)
            ringCopy?.endTurn(in: self)
            expireDeadlines()
            resumePausedListeners()
            if listenersClosed && !reportedDoneAccepting { reportDoneAccepting() }
            publishGauges()
        }
        closeEverything()
        mirror?.sender.stop()
        // Whatever the last turn queued (io_uring's poll cancellations) goes to the kernel; a socket an accept still
        // delivers has no slot to go to any more.
        _ = events.wait(timeoutMilliseconds: 0) { token, result, _ in
            if token.listenerIndex != nil && result >= 0 { Socket.closeWithReset(result) }
        }
    }

    /// After `stopAccepting`: once no accept can deliver a socket any more, this worker's open connections can
    /// only go down, and the engine may be stopped when they are none (see `ForwardingEngine.hasStoppedAccepting`).
    /// Until then a socket accepted a moment before the listeners closed may still arrive, and is served.
    private func reportDoneAccepting() {
        // Clients accepted and waiting for a place are admitted first: they are not counted open yet.
        guard !events.acceptsPending, waitingClients.isEmpty else { return }
        reportedDoneAccepting = true
        shared.doneAccepting.add(1, ordering: .releasing)
    }

    @inline(__always)
    private func handle(token: EventToken, result: Int32, flags: UInt32) {
        let more = flags & IoUring.more != 0
        if token == .wake {
            EventFd.drain(wakeFd)
            if shared.stopAccepting.load(ordering: .relaxed) { closeListeners() }
            closeSessionsOfMarkedDownNodes()
            return
        }
        if let listener = token.listenerIndex {
            if Events.deliversAcceptedSockets {
                acceptedSocket(listener, result: result)
            } else {
                acceptConnections(listener)
            }
            return
        }
        let i = Int32(bitPattern: token.connectionSlot)
        guard Int(i) < slots.capacity, slots[i].phase != .free, slots[i].generation == token.generation else {
            counters.staleEvents.bump()
            return
        }
        if token.operation == .connect {
            ringConnectCompleted(i, result: result)
            return
        }
        if token.operation != .poll {
            // Otherwise only the ring copy mover makes requests other than polls.
            ringCopy?.handle(i, side: token.side, operation: token.operation, result: result, flags: flags, in: self)
            return
        }
        // Polls matter only until a connection closes; with the ring copy mover, only while it connects.
        guard polls(i, side: token.side) else { return }
        if result < 0 {
            // A poll ended with an error (io_uring only): watch again, or give up on a socket gone bad.
            if result == -ENOMEM || result == -EAGAIN || result == -EINTR || result == -ECANCELED {
                watchAgain(i, side: token.side)
            } else {
                advance(i, .failed)
            }
            return
        }
        connectionEvent(i, side: token.side, events: UInt32(bitPattern: result))
        if !more && slots[i].phase != .free && slots[i].generation == token.generation {
            // The multishot poll ended (its completion queue overflowed): the socket is still ours to watch.
            watchAgain(i, side: token.side)
        }
    }

    /// Whether a connection's socket on `side` is watched by a poll (or epoll): always with direct calls;
    /// with the ring copy mover, the node's while connecting (unless its connect is a ring request), and both once
    /// a bulk connection moved to splice.
    @inline(__always)
    func polls(_ i: Int32, side: Side) -> Bool {
        switch slots[i].phase {
        case .connecting: return !movesByRingCopy || (side == .node && !connectsOnRing)
        case .forwarding: return !slots[i].ringCopy
        case .free, .closing: return false
        }
    }

    private func watchAgain(_ i: Int32, side: Side) {
        let fd = slots[i].socket(side)
        guard fd >= 0, polls(i, side: side) else { return }
        do {
            try events.watch(fd, token: EventToken(slot: UInt32(i), generation: slots[i].generation, side: side))
        } catch {
            advance(i, .failed)
        }
    }

    /// The epoll_wait timeout: until the next deadline, at once if slots are pending, else forever.
    private func nextTimeout() -> Int32 {
        if pump.hasPending { return 0 }
        var next = Int64.max
        if !slots.connecting.isEmpty { next = min(next, slots[slots.connecting.head].deadline) }
        if !slots.idle.isEmpty { next = min(next, slots[slots.idle.head].deadline) }
        for until in listenerPausedUntil where until > 0 { next = min(next, until) }
        if pausedForLimit || !waitingClients.isEmpty { next = min(next, now + Self.listenerPauseMs) }
        if next == Int64.max { return -1 }
        now = MonotonicClock.nowMilliseconds()
        // Coarse clock: round up so a deadline is never reported early.
        return Int32(clamping: max(0, next - now) + 1)
    }

    private func expireDeadlines() {
        while !slots.connecting.isEmpty, slots[slots.connecting.head].deadline <= now {
            let i = slots.connecting.head
            connectFailed(i, error: Errno.timedOut)
        }
        while !slots.idle.isEmpty, slots[slots.idle.head].deadline <= now {
            advance(slots.idle.head, .cut(reset: false))
        }
    }

    /// A node was marked down (its epoch moved): close its open connections, so that pooled clients reconnect
    /// to a healthy node instead of waiting on one that stopped answering.
    private func closeSessionsOfMarkedDownNodes() {
        var changed = NodeSet()
        for n in plan.nodes.indices {
            let epoch = plan.nodes[n].markDownEpoch.load(ordering: .relaxed)
            if epoch != seenMarkDowns[n] {
                seenMarkDowns[n] = epoch
                changed.insert(n)
            }
        }
        guard changed.bits != 0, plan.closeSessionsOnMarkDown else { return }
        for i in 0..<Int32(slots.capacity) where slots[i].phase != .free && slots[i].phase != .closing && slots[i].node >= 0 {
            let n = Int(slots[i].node)
            guard changed.contains(n) else { continue }
            let node = plan.nodes[n]
            if node.isOut || node.isServiceDown(Int(slots[i].service)) {
                counters.closedOnMarkDown.bump()
                advance(i, .cut(reset: false))
            }
        }
    }

    private func publishGauges() {
        counters.pipesInUse.store(pipes.inUse, ordering: .relaxed)
        counters.pipesPooled.store(pipes.pooled, ordering: .relaxed)
    }
}
