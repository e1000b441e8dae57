import Glibc
import LBEngine
import LBSystem
import Synchronization

/// The ring copy mover (io_uring engine, `--forward copy` and `auto`): instead of reading and writing on readiness,
/// each direction keeps a multishot recv armed on its source, into the worker's provided buffers, and sends
/// each received buffer to its destination with a send request, one in flight at a time, in order. Every
/// request goes to the kernel in the worker's one io_uring_enter per turn, so a kept-alive request costs no
/// system call of its own.
///
/// Back-pressure: past `ringQueueLimit` buffers waiting in one direction, its recv is cancelled and re-armed
/// once the queue has drained to half. A recv that ends for want of buffers (-ENOBUFS) waits in `starved` until
/// a buffer comes back. A connection whose requests are still in flight when it ends stays `.closing` until
/// they complete, so no buffer is reused while the kernel may still read it.
///
/// Auto mode: a direction that receives `bulkBytes` in full buffers in a row carries bulk, which splice moves
/// with less work. The connection then winds the mover down (cancels both recvs, lets the queued bytes go out)
/// and goes on with polls and direct calls (`ReadinessPump`), as with epoll.
///
/// Holds, apart from the connections' slots: the io_uring its requests go to, the queues of received buffers,
/// and the directions waiting for a buffer. A worker has one when its connections start on it (io_uring engine,
/// copy or auto mode), none otherwise.
final class RingCopyMover<Events: EventSource>: ByteMover {
    let ring: IoUring
    let slots: SlotTable
    let pipes: PipePool
    let buffers: BufferPool
    let counters: WorkerCounters
    let plan: ForwardingPlan
    /// The provided buffers registered with the ring; ids from `provided` up name the worker's own copy
    /// buffers (`BufferPool`, read into directly while the provided ones are out).
    let provided: Int
    /// Each buffer's length received, and the next buffer in its direction's queue (-1: none).
    var bufferLength: [Int32]
    var bufferNext: [Int32]
    /// Directions whose multishot recv ended for want of buffers, to re-arm as buffers come back.
    var starved: [(slot: Int32, generation: UInt32, side: Side)] = []
    /// Provided buffers holding received bytes (out of the kernel's ring).
    var buffersOut = 0

    /// A direction that receives this much in full buffers in a row carries bulk (auto mode: it moves to splice).
    static var bulkBytes: Int { 4 * BufferPool.copyBufferSize }
    /// The provided buffers' group id.
    static var bufferGroup: UInt16 { 1 }
    /// Buffers waiting in one direction before its recv is paused.
    static var ringQueueLimit: Int32 { 8 }

    /// Registers `provided` buffers of the copy buffers' size with the ring; the worker's own copy buffers
    /// (`buffers`) stand in when they run out.
    init(
        ring: IoUring, provided: Int, slots: SlotTable, pipes: PipePool, buffers: BufferPool, counters: WorkerCounters,
        plan: ForwardingPlan
    ) throws(SystemError) {
        try ring.provideBuffers(count: provided, size: buffers.bufferSize, group: Self.bufferGroup)
        self.ring = ring
        self.provided = provided
        self.slots = slots
        self.pipes = pipes
        self.buffers = buffers
        self.counters = counters
        self.plan = plan
        bufferLength = Array(repeating: 0, count: provided + buffers.count)
        bufferNext = Array(repeating: -1, count: provided + buffers.count)
        starved.reserveCapacity(slots.capacity)
    }

    /// The worker's own buffer (its `BufferPool` index) a buffer id names; nil for a provided buffer.
    @inline(__always)
    func ownIndex(_ id: Int32) -> Int32? { Int(id) >= provided ? id - Int32(provided) : nil }

    /// The buffer id of the worker's own buffer `index`.
    @inline(__always)
    func id(ofOwn index: Int32) -> Int32 { Int32(provided) + index }


    /// The node connection is up: the node's poll goes (none when the connect was a ring request), and a
    /// multishot recv is armed on each side.
    func begin(_ i: Int32, in w: Worker<Events>) {
        slots[i].ringCopy = true
        if !w.connectsOnRing {
            w.events.unwatch(slots[i].server, token: EventToken(slot: UInt32(i), generation: slots[i].generation, side: .node))
        }
        armReceive(i, side: .client, in: w)
        armReceive(i, side: .node, in: w)
    }

    @inline(__always)
    private func token(_ i: Int32, side: Side, _ operation: EventToken.Operation) -> EventToken {
        EventToken(slot: UInt32(i), generation: slots[i].generation, side: side, operation: operation)
    }

    private func armReceive(_ i: Int32, side: Side, in w: Worker<Events>) {
        let source = slots[i].socket(side)
        ring.prepareReceiveMultishot(source, group: Self.bufferGroup, userData: token(i, side: side, .receive).raw)
        slots[i].inFlight += 1
        slots[i][source: side].receiving = true
    }

    /// A completion of one of this connection's recv or send requests.
    @inline(__always)
    func handle(_ i: Int32, side: Side, operation: EventToken.Operation, result: Int32, flags: UInt32, in w: Worker<Events>) {
        switch operation {
        case .receive: received(i, side: side, result: result, flags: flags, in: w)
        case .send: sent(i, side: side, result: result, in: w)
        case .readable, .poll: sourceReadable(i, side: side, result: result, in: w)
        case .connect: return  // the worker's (`Worker.ringConnectCompleted`), never routed here
        }
        // Auto's hand-over to splice, the one place it happens: once the last request of a connection moving to
        // splice is in (a completion that leaves one armed, or one of a connection already ended, does nothing).
        if slots[i].phase == .forwarding && slots[i].movingToSplice { moveToSpliceIfIdle(i, in: w) }
    }

    private func received(_ i: Int32, side: Side, result: Int32, flags: UInt32, in w: Worker<Events>) {
        if result > 0 && flags & IoUring.bufferFlag != 0 {
            let id = Int32(flags >> IoUring.bufferShift)
            buffersOut += 1
            if slots[i].phase == .forwarding {
                enqueue(i, side: side, buffer: id, length: result, in: w)
                if plan.mode == .auto { detectBulk(i, side: side, received: result, in: w) }
            } else {
                giveBack(id, in: w)
            }
        }
        if flags & IoUring.more != 0 { return }
        // The multishot recv ended.
        slots[i].inFlight -= 1
        slots[i][source: side].receiving = false
        if slots[i].phase == .closing {
            releaseIfDone(i, in: w)
            return
        }
        if result == 0 {
            w.advance(i, .endOfStream(from: side))
            shutIfDelivered(i, side: side, in: w)
        } else if result > 0 || result == -ECANCELED {
            // Ended after data (a full completion queue) or by our back-pressure cancel: re-arm unless paused.
            receiveAgainIfWanted(i, side: side, in: w)
        } else if result == -ENOBUFS {
            counters.buffersRanOut.bump()
            readOwn(i, side: side, in: w)
        } else {
            w.advance(i, .failed)
        }
    }

    private func enqueue(_ i: Int32, side: Side, buffer id: Int32, length: Int32, in w: Worker<Events>) {
        if side == .client && slots[i].framer.isActive { _ = w.frameUp(i, bufferAddress(id), Int(length)) }
        bufferLength[Int(id)] = length
        bufferNext[Int(id)] = -1
        var d = slots[i][source: side]
        if d.tail >= 0 { bufferNext[Int(d.tail)] = id } else { d.head = id; d.start = 0 }
        d.tail = id
        d.queued += 1
        let full = d.queued >= Self.ringQueueLimit && d.receiving && !d.receivePaused
        if full { d.receivePaused = true }
        slots[i][source: side] = d
        if full { ring.prepareCancel(token(i, side: side, .receive).raw, userData: EventToken.ignored.raw) }
        if !d.sending { sendHead(i, side: side, in: w) }
        if plan.idleTimeoutMs > 0 {
            slots[i].deadline = w.now + plan.idleTimeoutMs
            slots.touch(i, in: &slots.idle)
        }
    }

    /// Sends what is left of the head buffer of `side`'s direction.
    private func sendHead(_ i: Int32, side: Side, in w: Worker<Events>) {
        let d = slots[i][source: side]
        let destination = slots[i].socket(side.other)
        let address = bufferAddress(d.head) + Int(d.start)
        let count = Int(bufferLength[Int(d.head)] - d.start)
        ring.prepareSend(destination, from: address, count: count, userData: token(i, side: side, .send).raw)
        slots[i].inFlight += 1
        slots[i][source: side].sending = true
    }

    private func sent(_ i: Int32, side: Side, result: Int32, in w: Worker<Events>) {
        slots[i].inFlight -= 1
        var d = slots[i][source: side]
        d.sending = false
        if slots[i].phase == .closing {
            if d.head >= 0 { giveBack(d.head, in: w) }
            d.head = -1
            d.tail = -1
            slots[i][source: side] = d
            releaseIfDone(i, in: w)
            return
        }
        if result < 0 {
            slots[i][source: side] = d
            w.advance(i, .failed)  // EPIPE, ECONNRESET: the destination is gone
            return
        }
        if side == .client { counters.bytesUp.bump(Int(result)) } else { counters.bytesDown.bump(Int(result)) }
        if side == .client { slots[i].bytesUp += Int(result) } else { slots[i].bytesDown += Int(result) }
        if plan.idleTimeoutMs > 0 {
            // Bytes reaching a slow reader are activity too, while its recv is paused and nothing new arrives.
            slots[i].deadline = w.now + plan.idleTimeoutMs
            slots.touch(i, in: &slots.idle)
        }
        counters.serviceNodes.bump(slots[i].service, slots[i].node, side == .client ? .bytesUp : .bytesDown, Int(result))
        d.start += result
        var more = true
        if d.start >= bufferLength[Int(d.head)] {
            let done = d.head
            d.head = bufferNext[Int(done)]
            if d.head < 0 { d.tail = -1 }
            d.start = 0
            d.queued -= 1
            giveBack(done, in: w)
            more = d.head >= 0
        }
        slots[i][source: side] = d
        if more {
            sendHead(i, side: side, in: w)
        } else {
            shutIfDelivered(i, side: side, in: w)
        }
        if slots[i].phase == .forwarding { receiveAgainIfWanted(i, side: side, in: w) }
    }

    /// Re-arms a direction's recv after a back-pressure pause (once its queue has drained to half) or an end.
    private func receiveAgainIfWanted(_ i: Int32, side: Side, in w: Worker<Events>) {
        var d = slots[i][source: side]
        guard !d.receiving, !d.pollingOwn, !slots[i].state.hasEnded(from: side), !slots[i].movingToSplice else { return }
        if d.readingOwn {
            // Its own buffer is still queued: the next read waits until the queue is sent.
            guard d.head < 0 else { return }
            d.readingOwn = false
            slots[i][source: side] = d
            if buffersOut >= provided {
                readOwn(i, side: side, in: w)
                return
            }
        }
        if d.receivePaused {
            guard d.queued <= Self.ringQueueLimit / 2 else { return }
            d.receivePaused = false
            slots[i][source: side] = d
        }
        armReceive(i, side: side, in: w)
    }

    /// Half-close: once a direction's source sent its FIN and every byte before it is delivered, the
    /// connection's state passes the FIN on (and closes the connection when both ways are done).
    private func shutIfDelivered(_ i: Int32, side: Side, in w: Worker<Events>) {
        let d = slots[i][source: side]
        guard slots[i].state.hasEnded(from: side), !d.sending, d.head < 0 else { return }
        w.advance(i, .delivered(from: side))
    }

    /// A buffer goes back to the kernel (or the worker's own to its pool); a direction waiting for one is
    /// re-armed.
    @inline(__always)
    private func giveBack(_ id: Int32, in w: Worker<Events>) {
        if release(id) { rearmStarved(atMost: 1, in: w) }
    }

    /// A buffer no request uses any more back where it came from; true when it was a provided one.
    @inline(__always)
    private func release(_ id: Int32) -> Bool {
        if let own = ownIndex(id) {
            buffers.give(own)
            return false
        }
        ring.giveBack(id)
        buffersOut -= 1
        return true
    }

    /// A provided buffer, or one of the worker's own copy buffers (`RingCopyMover.ownIndex`).
    @inline(__always)
    private func bufferAddress(_ id: Int32) -> UnsafeMutableRawPointer {
        if let own = ownIndex(id) { return buffers.address(own) }
        return ring.bufferAddress(id)
    }

    /// The provided buffers ran out under this direction: rather than wait for one (the directions holding
    /// them may be waiting for this one), it reads into one of the worker's own buffers, one at a time, on
    /// readiness, until provided buffers are back.
    private func readOwn(_ i: Int32, side: Side, in w: Worker<Events>) {
        var d = slots[i][source: side]
        guard d.head < 0, !d.receiving, !d.pollingOwn, !slots[i].state.hasEnded(from: side) else { return }
        // Moving to splice: the move waits for no request in flight, and a poll armed now would be cancelled by
        // nothing. The pump reads this direction once the move is done.
        guard !slots[i].movingToSplice else { return }
        guard let own = buffers.take() else {
            starved.append((i, slots[i].generation, side))  // not even those: wait for a provided one
            return
        }
        let source = slots[i].socket(side)
        switch Socket.read(source, into: buffers.address(own), count: BufferPool.copyBufferSize) {
        case .done(0):
            buffers.give(own)
            slots[i][source: side] = d
            w.advance(i, .endOfStream(from: side))
            shutIfDelivered(i, side: side, in: w)
        case .done(let n):
            d.readingOwn = true
            slots[i][source: side] = d
            enqueue(i, side: side, buffer: id(ofOwn: own), length: Int32(n), in: w)
        case .wouldBlock:
            buffers.give(own)
            d.pollingOwn = true
            slots[i][source: side] = d
            slots[i].inFlight += 1
            ring.preparePollOnce(source, mask: IoUring.pollIn | IoUring.pollReadHangUp, userData: token(i, side: side, .readable).raw)
        case .failed:
            buffers.give(own)
            w.advance(i, .failed)
        }
    }

    /// The one-shot poll of a direction reading into its own buffer fired.
    private func sourceReadable(_ i: Int32, side: Side, result: Int32, in w: Worker<Events>) {
        slots[i].inFlight -= 1
        slots[i][source: side].pollingOwn = false
        if slots[i].phase == .closing {
            releaseIfDone(i, in: w)
            return
        }
        guard result >= 0 else { return }  // cancelled: the connection is moving on
        readOwn(i, side: side, in: w)
    }

    /// Re-arms directions whose recv ran out of buffers, while buffers are back in the ring. Also called once a
    /// turn: a buffer may have come back before the -ENOBUFS that waits for it was seen.
    func endTurn(in w: Worker<Events>) {
        if !starved.isEmpty { rearmStarved(atMost: provided, in: w) }
    }

    private func rearmStarved(atMost limit: Int, in w: Worker<Events>) {
        var armed = 0
        while armed < limit, buffersOut < provided, let waiting = starved.popLast() {
            let i = waiting.slot
            guard slots[i].phase == .forwarding, slots[i].generation == waiting.generation else { continue }
            receiveAgainIfWanted(i, side: waiting.side, in: w)
            armed += 1
        }
    }

    /// On close: cancels the requests in flight and gives back buffers no request uses.
    func end(_ i: Int32, in w: Worker<Events>) {
        guard slots[i].phase == .forwarding else { return }
        slots[i].movingToSplice = false
        for side in Side.allCases {
            var d = slots[i][source: side]
            if d.receiving {
                ring.prepareCancel(token(i, side: side, .receive).raw, userData: EventToken.ignored.raw)
            }
            if d.sending {
                ring.prepareCancel(token(i, side: side, .send).raw, userData: EventToken.ignored.raw)
            }
            if d.pollingOwn {
                ring.prepareCancel(token(i, side: side, .readable).raw, userData: EventToken.ignored.raw)
            }
            // The head stays while its send is in flight; the rest of the queue goes back now.
            var id = d.sending ? bufferNext[Int(d.head)] : d.head
            while id >= 0 {
                let next = bufferNext[Int(id)]
                _ = release(id)
                id = next
            }
            if !d.sending { d.head = -1 }
            d.tail = d.head
            d.queued = 0
            slots[i][source: side] = d
        }
    }

    /// Auto mode: counts full buffers in a row; at `bulkBytes` the connection moves to splice.
    private func detectBulk(_ i: Int32, side: Side, received: Int32, in w: Worker<Events>) {
        var d = slots[i][source: side]
        // A framed direction must stay in user space (`frameUp`): it never counts as bulk.
        d.burst = Int(received) == BufferPool.copyBufferSize && !(side == .client && slots[i].framer.isActive) ? d.burst + Int(received) : 0
        let bulk = d.burst >= Self.bulkBytes
        slots[i][source: side] = d
        guard bulk, !slots[i].movingToSplice, !pipes.exhausted else { return }
        slots[i].movingToSplice = true
        for s in Side.allCases where slots[i][source: s].receiving {
            ring.prepareCancel(token(i, side: s, .receive).raw, userData: EventToken.ignored.raw)
        }
        for s in Side.allCases where slots[i][source: s].pollingOwn {
            ring.prepareCancel(token(i, side: s, .readable).raw, userData: EventToken.ignored.raw)
        }
    }

    /// Once no request of the mover is in flight and nothing waits to be sent, the connection goes on with
    /// polls and direct calls; the bulk direction splices from its first read.
    private func moveToSpliceIfIdle(_ i: Int32, in w: Worker<Events>) {
        guard slots[i].phase == .forwarding, slots[i].inFlight == 0 else { return }
        slots[i].ringCopy = false
        slots[i].movingToSplice = false
        for side in Side.allCases {
            var d = slots[i][source: side]
            d.splicing = d.burst >= Self.bulkBytes
            d.burst = 0
            d.receivePaused = false
            d.readingOwn = false
            d.head = -1
            d.tail = -1
            d.queued = 0
            d.start = 0
            d.end = 0
            slots[i][source: side] = d
        }
        // The sockets may hold bytes and room already: say so, and let the polls report what comes next.
        slots[i].readable = PerSide(true)
        slots[i].writable = PerSide(true)
        do {
            try w.events.watch(slots[i].client, token: EventToken(slot: UInt32(i), generation: slots[i].generation, side: .client))
            try w.events.watch(slots[i].server, token: EventToken(slot: UInt32(i), generation: slots[i].generation, side: .node))
        } catch {
            w.advance(i, .failed)
            return
        }
        counters.movedToSplice.bump()
        w.pump.begin(i, in: w)
    }

    private func releaseIfDone(_ i: Int32, in w: Worker<Events>) {
        if slots[i].inFlight == 0 { w.advance(i, .requestsDone) }
    }
}
