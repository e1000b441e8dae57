import Glibc
import LBEngine
import LBSystem

/// io_uring as a worker's event source (see `EventSource`): one ring per worker, a few one-shot accepts on
/// each listener, multishot poll on each socket, one io_uring_enter per loop turn.
///
/// Bytes move one of two ways (docs/internals/forwarding.md): by the ring copy mover's recv and send requests on
/// this same ring (`Worker+RingCopy`: copy, and auto until a connection carries bulk), or by direct
/// splice/read/write calls on readiness (`Worker+Pump`: splice, and bulk). IORING_OP_SPLICE is not used: it is
/// punted to kernel worker threads and answers EAGAIN on non-blocking sockets.
final class RingEvents: EventSource {
    static let deliversAcceptedSockets = true
    let ring: IoUring
    var requestRing: IoUring? { ring }
    /// Per listener: whether it should be accepting (not paused, not removed), its descriptor, the accepts in
    /// flight (of any arming), and the number of its current arming, carried in the token's generation so that
    /// a pause cancels that arming's accepts and no other.
    private var wanted: [Bool] = []
    private var listenerFds: [Int32] = []
    private var acceptsOut: [Int] = []
    private var armings: [UInt32] = []
    private var wakeFd: Int32 = -1

    static let socketMask = IoUring.pollIn | IoUring.pollOut | IoUring.pollReadHangUp

    /// - Parameters:
    ///   - flags: the setup flags `RingSupport` found this kernel accepts.
    ///   - listeners: the worker's listeners, whose accepts are queued before the ring is enabled.
    init(flags: IoUring.SetupFlags, capacity: Int, listeners: Int) throws(SystemError) {
        let entries = Self.submissionEntries(listeners: listeners)
        // Two multishot polls per connection may each post a completion per wake-up; a completion queue
        // that overflows ends multishot requests (re-armed by the worker), so size it generously. The kernel
        // wants at least as many completion entries as submission entries.
        let completions = min(65_536, max(4_096, 4 * capacity, 2 * entries))
        ring = try IoUring(entries: entries, completionEntries: completions, flags: flags.union(.disabled))
    }

    /// A disabled ring cannot submit, so everything the worker queues before `begin` (`acceptsInFlight`
    /// accepts per listener and the wake-up poll) must fit in the submission queue at once: 1024, or the next
    /// power of two that holds them with room to spare. The kernel takes at most 32768 entries, which the
    /// configuration's limit on services (ListRules.maxServices) keeps within reach.
    static func submissionEntries(listeners: Int) -> Int {
        var entries = 1_024
        while entries < acceptsInFlight * listeners + 16 && entries < 32_768 { entries *= 2 }
        return entries
    }

    /// Enables the ring on the worker's thread (SINGLE_ISSUER binds it to the first submitter) and registers
    /// the ring descriptor there. The ring was set up and probed moments before, on the same kernel, so
    /// enabling cannot meet a new refusal.
    func begin() {
        do {
            try ring.enable()
        } catch {
            preconditionFailure("io_uring: \(error)")
        }
        ring.registerRingDescriptor()
    }

    func watchWake(_ fd: Int32) throws(SystemError) {
        wakeFd = fd
        ring.preparePollMultishot(fd, mask: IoUring.pollIn, userData: EventToken.wake.raw)
    }

    @inline(__always)
    func watch(_ fd: Int32, token: EventToken) throws(SystemError) {
        ring.preparePollMultishot(fd, mask: Self.socketMask, userData: token.raw)
    }

    /// The poll holds a reference to the socket: without the removal, close(2) would not release it. A cancel, not
    /// a poll removal: a removal that meets the poll while a wake-up of it waits in task work (DEFER_TASKRUN runs
    /// that only in the next wait) fails with EALREADY and leaves the multishot poll armed, holding the socket
    /// open with no descriptor (no FIN, no reset); a cancel marks it, and the poll ends when that work runs.
    @inline(__always)
    func unwatch(_ fd: Int32, token: EventToken) {
        ring.prepareCancel(token.raw, userData: EventToken.ignored.raw)
    }

    @inline(__always)
    func submitBeforeClosing() {
        if ring.queued > 0 { ring.submitAndWait(timeoutMilliseconds: 0) }
    }

    /// The old poll goes (its last completion carries the old, now stale token) and a new one starts; a
    /// poll reports the socket's current state when armed, so no readiness is lost in between.
    func rewatch(_ fd: Int32, from old: EventToken, to new: EventToken) throws(SystemError) {
        ring.prepareCancel(old.raw, userData: EventToken.ignored.raw)  // not a removal: see `unwatch`
        ring.preparePollMultishot(fd, mask: Self.socketMask, userData: new.raw)
    }

    /// One-shot accepts kept in flight on each listener. Not a multishot accept: that one takes the whole
    /// accept queue in one go whenever it fires (the kernel loops while the queue is not empty), so at the
    /// connection limit a queue of thousands would be accepted, and held, in one turn. With a few one-shot
    /// accepts the overshoot past `--max-conns` is at most this many per listener and worker; an accept whose
    /// queue has a connection completes when submitted, so this costs no system call.
    static let acceptsInFlight = 4

    func addListener(_ fd: Int32, index: Int) throws(SystemError) {
        while wanted.count <= index {
            wanted.append(false)
            listenerFds.append(-1)
            acceptsOut.append(0)
            armings.append(0)
        }
        listenerFds[index] = fd
        resumeListener(fd, index: index)
    }

    func removeListener(_ fd: Int32, index: Int) {
        pauseListener(fd, index: index)
    }

    func pauseListener(_ fd: Int32, index: Int) {
        guard index < wanted.count, wanted[index] else { return }
        wanted[index] = false
        ring.prepareCancelAll(listenerToken(index).raw, userData: EventToken.ignored.raw)
    }

    func resumeListener(_ fd: Int32, index: Int) {
        guard index < wanted.count, !wanted[index] else { return }
        wanted[index] = true
        armings[index] = EventToken.nextGeneration(after: armings[index])
        topUp(index)
    }

    /// Whether accepts are still in flight: a listener removed a moment ago may still deliver sockets.
    var acceptsPending: Bool { acceptsOut.contains { $0 > 0 } }

    private func topUp(_ index: Int) {
        while acceptsOut[index] < Self.acceptsInFlight {
            acceptsOut[index] += 1
            ring.prepareAccept(listenerFds[index], userData: listenerToken(index).raw)
        }
    }

    private func listenerToken(_ index: Int) -> EventToken {
        EventToken(slot: EventToken.listener(index).slot, generation: armings[index], side: .client)
    }

    @inline(__always)
    func wait(timeoutMilliseconds: Int32, _ body: (EventToken, Int32, UInt32) -> Void) -> Int {
        ring.submitAndWait(timeoutMilliseconds: timeoutMilliseconds)
        var total = 0
        while true {
            let n = ring.reap { data, result, flags in
                let token = EventToken(raw: data)
                if token == .ignored { return }
                if let l = token.listenerIndex, l < acceptsOut.count {
                    // A one-shot accept ended (a socket, an error, or our own cancellation). The worker gets
                    // the socket whichever arming accepted it, and never re-arms: the accept is replaced here,
                    // after the worker had its say (it may have paused the listener).
                    acceptsOut[l] -= 1
                    body(.listener(l), result, IoUring.more)
                    if wanted[l] { topUp(l) }
                    return
                }
                if flags & IoUring.more == 0 && token == .wake {
                    // The wake-up poll ended (completion queue overflow): it must always be armed.
                    ring.preparePollMultishot(wakeFd, mask: IoUring.pollIn, userData: EventToken.wake.raw)
                }
                body(token, result, flags)
            }
            total += n
            if n < 256 || total >= 4_096 { break }
        }
        return total
    }
}
