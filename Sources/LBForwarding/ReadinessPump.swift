import LBEngine
import LBSystem
import Synchronization

/// What a pump turn ended with.
enum PumpOutcome {
    /// Nothing more can move until the next edge.
    case idle
    /// The fair share was used up with more to move: pump again before sleeping.
    case yielded
    /// A socket failed (reset, broken pipe): the connection must be reset.
    case failed
}

/// The readiness mover (`ByteMover`): when a socket is ready (an epoll edge, an io_uring poll), moves bytes
/// both ways with read/write through a copy buffer or splice through a pipe, as far as the sockets allow and
/// up to a fair share per turn. Auto mode starts a direction on copy and moves it to splice once it carries
/// bulk (and back when its bursts are small). Holds no request in the kernel: a connection on the pump can be
/// closed at any moment.
final class ReadinessPump<Events: EventSource>: ByteMover {
    let slots: SlotTable
    let pipes: PipePool
    let buffers: BufferPool
    let counters: WorkerCounters
    let plan: ForwardingPlan
    /// Slots that stopped pumping after their fair share of one turn, to pump again before sleeping
    /// (edge-triggered epoll will not report them again).
    private var pending: [(slot: Int32, generation: UInt32)] = []

    /// How much one connection may move in one turn before others get theirs.
    static var fairShareBytes: Int { 1 << 20 }

    init(slots: SlotTable, pipes: PipePool, buffers: BufferPool, counters: WorkerCounters, plan: ForwardingPlan) {
        self.slots = slots
        self.pipes = pipes
        self.buffers = buffers
        self.counters = counters
        self.plan = plan
        pending.reserveCapacity(slots.capacity)
    }

    /// Whether a connection waits for its next turn: the loop must not sleep.
    var hasPending: Bool { !pending.isEmpty }

    /// The node is connected (or a ring copy connection was handed over): the sockets may hold bytes and room
    /// already, so pump at once.
    func begin(_ i: Int32, in w: Worker<Events>) {
        pump(i, in: w)
    }

    /// Readiness of the socket on `side`.
    @inline(__always)
    func handle(_ i: Int32, side: Side, operation: EventToken.Operation, result: Int32, flags: UInt32, in w: Worker<Events>) {
        let events = UInt32(bitPattern: result)
        if events & Epoll.error != 0 {
            // A reset (or another socket error) on one side: reset the other.
            w.advance(i, .failed)
            return
        }
        if events & (Epoll.readable | Epoll.readHangUp | Epoll.hangUp) != 0 { slots[i].readable[side] = true }
        if events & Epoll.writable != 0 { slots[i].writable[side] = true }
        if events & (Epoll.readHangUp | Epoll.hangUp) != 0 { slots[i].hungUp[side] = true }
        pump(i, in: w)
    }

    /// Pumps again the connections that used up their fair share last turn.
    func endTurn(in w: Worker<Events>) {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        for entry in batch where slots[entry.slot].phase == .forwarding && slots[entry.slot].generation == entry.generation {
            pump(entry.slot, in: w)
        }
    }

    /// Returns the connection's pipes and buffers. A pipe that may still hold bytes is closed rather than pooled.
    func end(_ i: Int32, in w: Worker<Events>) {
        releaseTransport(&slots[i].up)
        releaseTransport(&slots[i].down)
    }

    private func releaseTransport(_ d: inout Direction) {
        if d.pipeRead >= 0 {
            if d.inPipe == 0 { pipes.give((d.pipeRead, d.pipeWrite)) } else { pipes.discard((d.pipeRead, d.pipeWrite)) }
            d.pipeRead = -1
            d.pipeWrite = -1
            d.inPipe = 0
        }
        if d.buffer >= 0 {
            buffers.give(d.buffer)
            d.buffer = -1
        }
    }

    /// Moves bytes both ways as far as the sockets allow, then reports the ways whose source closed and whose
    /// bytes are all delivered: the connection's state passes their FINs on, and closes the connection once
    /// both ways are done.
    @inline(__always)
    func pump(_ i: Int32, in w: Worker<Events>) {
        let upOutcome = pumpDirection(i, from: .client, in: w)
        if case .failed = upOutcome {
            w.advance(i, .failed)
            return
        }
        let downOutcome = pumpDirection(i, from: .node, in: w)
        if case .failed = downOutcome {
            w.advance(i, .failed)
            return
        }
        if slots[i].state.hasEnded(from: .client) && slots[i].up.isEmpty { w.advance(i, .delivered(from: .client)) }
        if slots[i].state.hasEnded(from: .node) && slots[i].down.isEmpty { w.advance(i, .delivered(from: .node)) }
        guard slots[i].phase == .forwarding else { return }
        if case .yielded = upOutcome { pending.append((i, slots[i].generation)) }
        else if case .yielded = downOutcome { pending.append((i, slots[i].generation)) }
        if plan.idleTimeoutMs > 0 {
            slots[i].deadline = w.now + plan.idleTimeoutMs
            slots.touch(i, in: &slots.idle)
        }
    }

    /// One direction, the one whose source is `side`: write what is in flight, read more, repeat while anything
    /// moves (up to a fair share).
    ///
    /// Works on a local copy of the direction and the two readiness flags, stored back at the end.
    private func pumpDirection(_ i: Int32, from side: Side, in w: Worker<Events>) -> PumpOutcome {
        var d = slots[i][source: side]
        var ended = slots[i].state.hasEnded(from: side)
        if ended && d.isEmpty { return .idle }
        let upward = side == .client
        let source = slots[i].socket(side)
        let destination = slots[i].socket(side.other)
        var sourceReadable = slots[i].readable[side]
        var destinationWritable = slots[i].writable[side.other]
        let sourceHungUp = slots[i].hungUp[side]
        var moved = 0
        var outcome = PumpOutcome.idle

        turn: while true {
            // 1. Write what is in flight. When both hold bytes the buffer's go first: they are older (a copy read
            // needs an empty pipe; the splice reads that follow a full one may start before it is written out).
            if !d.isEmpty && destinationWritable {
                let result: IOResult
                let fromBuffer = d.start != d.end
                if fromBuffer {
                    result = Socket.write(destination, from: buffers.address(d.buffer) + Int(d.start), count: Int(d.end - d.start))
                } else {
                    // Never SPLICE_F_MORE: on the last chunk it corks a short reply for ~200 ms.
                    result = Pipe.splice(from: d.pipeRead, to: destination, count: d.inPipe)
                }
                switch result {
                case .done(let n):
                    moved += n
                    if fromBuffer { d.start += Int32(n) } else { d.inPipe -= n }
                    releaseIfEmpty(&d, keepPipe: sourceReadable)
                case .wouldBlock:
                    destinationWritable = false
                case .failed:
                    outcome = .failed
                    break turn
                }
            }
            if moved >= Self.fairShareBytes {
                outcome = .yielded
                break turn
            }
            // 2. Read more, if the source may have bytes and there is room.
            guard sourceReadable && !ended else { break turn }
            if d.splicing {
                if d.pipeRead < 0 {
                    guard let pipe = pipes.take() else {
                        // No pipe to be had (budget spent, descriptors out): copy this direction instead.
                        d.splicing = false
                        counters.copyFallbacks.bump()
                        continue turn
                    }
                    d.pipeRead = pipe.read
                    d.pipeWrite = pipe.write
                }
                switch Pipe.splice(from: source, to: d.pipeWrite, count: 1 << 20) {
                case .done(0):
                    ended = true
                case .done(let n):
                    d.inPipe += n
                    d.burst += n
                    continue turn
                case .wouldBlock:
                    if d.inPipe == 0 {
                        // Pipe empty, so the socket is: it really is drained.
                        sourceReadable = false
                        sourceRanDry(&d)
                    } else if destinationWritable {
                        // The pipe may be full by slots rather than the socket empty: drain it, then retry.
                        continue turn
                    }
                    // Else keep `sourceReadable`: after EAGAIN with bytes still in the pipe the socket may
                    // still hold data, and no new edge will say so. The destination's next edge resumes us.
                case .failed(let err):
                    if (err == Errno.invalid || err == Errno.notSupported) && d.inPipe == 0 {
                        d.splicing = false  // splice unsupported on this descriptor: copy
                        releaseIfEmpty(&d, keepPipe: false)
                        continue turn
                    }
                    outcome = .failed
                }
                break turn
            } else {
                guard d.isEmpty else { break turn }  // one buffer at a time: write it out first
                if d.buffer < 0 {
                    guard let b = buffers.take() else { break turn }
                    d.buffer = b
                    d.start = 0
                    d.end = 0
                }
                switch Socket.read(source, into: buffers.address(d.buffer), count: BufferPool.copyBufferSize) {
                case .done(0):
                    ended = true
                    releaseIfEmpty(&d, keepPipe: false)
                case .done(let n):
                    d.end = Int32(n)
                    d.burst += n
                    if upward && slots[i].framer.isActive && !w.frameUp(i, buffers.address(d.buffer), n) && plan.mode == .splice {
                        d.splicing = true  // no longer framed: splice from the next read on
                    }
                    if n < BufferPool.copyBufferSize && !sourceHungUp {
                        // A short read from a stream socket emptied its queue: the next byte or FIN brings a new
                        // edge, so skip the read that would only say EAGAIN. (Not once a FIN was reported: its
                        // edge is spent, and the end of stream still has to be read.)
                        sourceReadable = false
                        sourceRanDry(&d)
                    } else if plan.mode == .auto && !pipes.exhausted && !(upward && slots[i].framer.isActive) {
                        d.splicing = true  // bulk: splice from the next read on (this buffer is written first)
                    }
                    continue turn
                case .wouldBlock:
                    sourceReadable = false
                    sourceRanDry(&d)
                    releaseIfEmpty(&d, keepPipe: false)
                case .failed:
                    outcome = .failed
                }
                break turn
            }
        }

        // Whatever ended the turn, an empty pipe or buffer goes back now: an idle connection holds neither.
        releaseIfEmpty(&d, keepPipe: sourceReadable && !ended)
        if ended && !slots[i].state.hasEnded(from: side) { w.advance(i, .endOfStream(from: side)) }
        if moved > 0 {
            if upward { counters.bytesUp.bump(moved) } else { counters.bytesDown.bump(moved) }
            if upward { slots[i].bytesUp += moved } else { slots[i].bytesDown += moved }
            counters.serviceNodes.bump(slots[i].service, slots[i].node, upward ? .bytesUp : .bytesDown, moved)
        }
        slots[i][source: side] = d
        slots[i].readable[side] = sourceReadable
        slots[i].writable[side.other] = destinationWritable
        return outcome
    }

    /// Auto mode: a burst smaller than one copy buffer means small messages, which copy serves with fewer calls.
    @inline(__always)
    private func sourceRanDry(_ d: inout Direction) {
        if plan.mode == .auto && d.splicing && d.burst < BufferPool.copyBufferSize && d.isEmpty {
            d.splicing = false
        }
        d.burst = 0
    }

    /// Gives the pipe or buffer back once empty, so an idle connection holds neither. A pipe is kept while the
    /// source is still readable (the next read needs one at once).
    @inline(__always)
    private func releaseIfEmpty(_ d: inout Direction, keepPipe: Bool) {
        if d.inPipe == 0 && d.pipeRead >= 0 && !(keepPipe && d.splicing) {
            pipes.give((d.pipeRead, d.pipeWrite))
            d.pipeRead = -1
            d.pipeWrite = -1
        }
        if d.buffer >= 0 && d.start == d.end {
            buffers.give(d.buffer)
            d.buffer = -1
            d.start = 0
            d.end = 0
        }
    }
}

extension PumpOutcome: Equatable {}
