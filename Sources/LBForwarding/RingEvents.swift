import Glibc
import LBEngine
import LBSystem

/// io_uring as a worker's event source (see `EventSource`): one ring per worker, multishot accept on each
/// listener, multishot poll on each socket, one io_uring_enter per loop turn.
///
/// Bytes still move by direct splice/read/write calls from the worker: IORING_OP_SPLICE is punted to kernel
/// worker threads and answers EAGAIN on non-blocking sockets, so readiness + direct calls is the fast shape.
final class RingEvents: EventSource {
    static let deliversAcceptedSockets = true
    let ring: IoUring
    /// Whether each listener's multishot accept is armed (a completion without `more` disarms it), and the
    /// number of its current arming, carried in the token's generation so that the last completions of a
    /// cancelled arming are told from the current one's.
    private var accepting: [Bool] = []
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

    /// A disabled ring cannot submit, so everything the worker queues before `begin` (one accept per listener
    /// and the wake-up poll) must fit in the submission queue at once: 1024, or the next power of two that
    /// holds them with room to spare. The kernel takes at most 32768 entries, which the configuration's limit
    /// on services keeps within reach.
    static func submissionEntries(listeners: Int) -> Int {
        var entries = 1_024
        while entries < listeners + 16 && entries < 32_768 { entries *= 2 }
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

    /// The poll holds a reference to the socket: without the removal, close(2) would not release it.
    @inline(__always)
    func unwatch(_ fd: Int32, token: EventToken) {
        ring.preparePollRemove(token.raw, userData: EventToken.ignored.raw)
    }

    @inline(__always)
    func submitBeforeClosing() {
        if ring.queued > 0 { ring.submitAndWait(timeoutMilliseconds: 0) }
    }

    /// The old poll goes (its last completion carries the old, now stale token) and a new one starts; a
    /// poll reports the socket's current state when armed, so no readiness is lost in between.
    func rewatch(_ fd: Int32, from old: EventToken, to new: EventToken) throws(SystemError) {
        ring.preparePollRemove(old.raw, userData: EventToken.ignored.raw)
        ring.preparePollMultishot(fd, mask: Self.socketMask, userData: new.raw)
    }

    func addListener(_ fd: Int32, index: Int) throws(SystemError) {
        while accepting.count <= index {
            accepting.append(false)
            armings.append(0)
        }
        resumeListener(fd, index: index)
    }

    func removeListener(_ fd: Int32, index: Int) {
        pauseListener(fd, index: index)
    }

    func pauseListener(_ fd: Int32, index: Int) {
        guard index < accepting.count, accepting[index] else { return }
        accepting[index] = false
        ring.prepareCancel(listenerToken(index).raw, userData: EventToken.ignored.raw)
    }

    func resumeListener(_ fd: Int32, index: Int) {
        guard index < accepting.count, !accepting[index] else { return }
        accepting[index] = true
        armings[index] = EventToken.nextGeneration(after: armings[index])
        ring.prepareMultishotAccept(fd, userData: listenerToken(index).raw)
    }

    private func listenerToken(_ index: Int) -> EventToken {
        EventToken(slot: EventToken.listener(index).slot, generation: armings[index], side: 0)
    }

    @inline(__always)
    func wait(timeoutMilliseconds: Int32, _ body: (EventToken, Int32, UInt32) -> Void) -> Int {
        ring.submitAndWait(timeoutMilliseconds: timeoutMilliseconds)
        var total = 0
        while true {
            let n = ring.reap { data, result, flags in
                let token = EventToken(raw: data)
                if token == .ignored { return }
                let more = flags & IoUring.more != 0
                if !more {
                    if token == .wake {
                        // The wake-up poll ended (completion queue overflow): it must always be armed.
                        ring.preparePollMultishot(wakeFd, mask: IoUring.pollIn, userData: EventToken.wake.raw)
                    } else if let l = token.listenerIndex, l < accepting.count, token.generation == armings[l] {
                        accepting[l] = false
                    }
                }
                // A listener's token goes to the worker without its arming number: an accepted socket is a
                // client whichever arming accepted it.
                if let l = token.listenerIndex, l < armings.count {
                    body(.listener(l), result, more || token.generation != armings[l] ? IoUring.more : 0)
                } else {
                    body(token, result, flags)
                }
            }
            total += n
            if n < 256 || total >= 4_096 { break }
        }
        return total
    }
}
