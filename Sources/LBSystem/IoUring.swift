import CShims
import Glibc

/// One io_uring and the completion buffer it is reaped into. Owns both; the ring pointer never leaves.
///
/// A thin layer: queue a request (`prepare…`), `submitAndWait`, `reap`. Requests carry a 64-bit user data
/// word, as epoll events do.
public final class IoUring {
    /// Setup flags, as `io_uring_setup(2)` names them.
    public struct SetupFlags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let disabled = SetupFlags(rawValue: CSHIMS_RING_SETUP_R_DISABLED)
        public static let submitAll = SetupFlags(rawValue: CSHIMS_RING_SETUP_SUBMIT_ALL)
        public static let coopTaskRun = SetupFlags(rawValue: CSHIMS_RING_SETUP_COOP_TASKRUN)
        public static let singleIssuer = SetupFlags(rawValue: CSHIMS_RING_SETUP_SINGLE_ISSUER)
        public static let deferTaskRun = SetupFlags(rawValue: CSHIMS_RING_SETUP_DEFER_TASKRUN)
    }

    /// Poll bits (the same values as epoll's).
    // Computed, not stored: a `static let` read from another module runs swift_once each time (about 100
    // instructions per kept-alive request on the hot path).
    public static var pollIn: UInt32 { CSHIMS_POLLIN }
    public static var pollOut: UInt32 { CSHIMS_POLLOUT }
    public static var pollReadHangUp: UInt32 { CSHIMS_POLLRDHUP }
    /// Set on a multishot request's completion when more will follow.
    public static var more: UInt32 { CSHIMS_RING_CQE_F_MORE }

    private let ring: OpaquePointer
    private let completions: UnsafeMutablePointer<cshims_completion>
    /// The provided-buffer ring and the memory of its buffers, once `provideBuffers` ran.
    private var bufferRing: OpaquePointer?
    private var bufferMemory: UnsafeMutableRawPointer?
    public private(set) var bufferSize = 0
    /// Set on a completion that used a provided buffer; its id is in the flags' upper 16 bits.
    public static var bufferFlag: UInt32 { CSHIMS_RING_CQE_F_BUFFER }
    public static var bufferShift: UInt32 { CSHIMS_RING_CQE_BUFFER_SHIFT }
    private static let reapBatch = 256

    /// io_uring_setup with `entries` submission and `completionEntries` completion slots.
    ///
    /// - Throws: `SystemError` with the errno setup gave (EPERM where seccomp or
    ///   `kernel.io_uring_disabled` forbids it, EINVAL for flags this kernel lacks).
    public init(entries: Int, completionEntries: Int, flags: SetupFlags) throws(SystemError) {
        var error: Int32 = 0
        guard let ring = cshims_ring_create(
            UInt32(entries), UInt32(completionEntries), flags.rawValue | CSHIMS_RING_SETUP_CQSIZE, &error
        ) else {
            throw SystemError("io_uring_setup", errno: -error)
        }
        self.ring = ring
        completions = .allocate(capacity: Self.reapBatch)
    }

    deinit {
        // The ring first: the kernel may write into provided buffers until it is gone.
        cshims_ring_destroy(ring)
        completions.deallocate()
        if let bufferRing { cshims_buffer_ring_free(bufferRing) }
        bufferMemory?.deallocate()
    }

    /// Registers `count` (a power of two) buffers of `size` bytes as provided-buffer group `group`, all given
    /// to the kernel. Pages are touched only as the kernel fills them.
    public func provideBuffers(count: Int, size: Int, group: UInt16) throws(SystemError) {
        var error: Int32 = 0
        guard let buffers = cshims_ring_register_buffers(ring, UInt32(count), group, &error) else {
            throw SystemError("io_uring_register(REGISTER_PBUF_RING)", errno: -error)
        }
        bufferRing = buffers
        bufferMemory = .allocate(byteCount: count * size, alignment: 4096)
        bufferSize = size
        for id in 0..<count {
            cshims_buffer_ring_add(buffers, bufferMemory! + id * size, UInt32(size), UInt16(id), Int32(id))
        }
        cshims_buffer_ring_advance(buffers, Int32(count))
    }

    /// The start of provided buffer `id`.
    @inline(__always)
    public func bufferAddress(_ id: Int32) -> UnsafeMutableRawPointer { bufferMemory! + Int(id) * bufferSize }

    /// Gives provided buffer `id` back to the kernel.
    @inline(__always)
    public func giveBack(_ id: Int32) {
        cshims_buffer_ring_add(bufferRing!, bufferAddress(id), UInt32(bufferSize), UInt16(id), 0)
        cshims_buffer_ring_advance(bufferRing!, 1)
    }

    /// Queues a multishot recv into the provided buffers of `group`.
    @inline(__always)
    public func prepareReceiveMultishot(_ fd: Int32, group: UInt16, userData: UInt64) {
        ensureQueued(cshims_ring_recv_multishot(ring, fd, group, userData))
    }

    /// Queues a send of `count` bytes from `address` (which must stay untouched until it completes).
    @inline(__always)
    public func prepareSend(_ fd: Int32, from address: UnsafeRawPointer, count: Int, userData: UInt64) {
        ensureQueued(cshims_ring_send(ring, fd, address, count, userData))
    }

    /// Enables a ring set up `disabled`; with `singleIssuer`, the calling thread becomes its only submitter.
    public func enable() throws(SystemError) {
        _ = try checkedNegative("io_uring_register(ENABLE_RINGS)") { cshims_ring_enable(ring) }
    }

    /// Registers the ring descriptor for the calling thread, so each enter skips the descriptor lookup.
    /// Best effort: false when the kernel does not offer it.
    @discardableResult
    public func registerRingDescriptor() -> Bool { cshims_ring_register_ring_fd(ring) >= 0 }

    /// Queues a one-shot accept (the accepted socket is non-blocking and close-on-exec).
    @inline(__always)
    public func prepareAccept(_ fd: Int32, userData: UInt64) {
        ensureQueued(cshims_ring_accept(ring, fd, userData))
    }

    /// Queues a multishot poll for `mask` (POLLERR and POLLHUP are always reported).
    @inline(__always)
    public func preparePollMultishot(_ fd: Int32, mask: UInt32, userData: UInt64) {
        ensureQueued(cshims_ring_poll_multishot(ring, fd, mask, userData))
    }

    /// Queues a one-shot poll for `mask`.
    @inline(__always)
    public func preparePollOnce(_ fd: Int32, mask: UInt32, userData: UInt64) {
        ensureQueued(cshims_ring_poll_once(ring, fd, mask, userData))
    }

    /// Queues the cancellation of the request carrying `target` (any kind, accept included). For a poll too:
    /// IORING_OP_POLL_REMOVE is not offered, as it refuses a poll whose wake-up is queued (`RingEvents.unwatch`).
    @inline(__always)
    public func prepareCancel(_ target: UInt64, userData: UInt64) {
        ensureQueued(cshims_ring_cancel(ring, target, userData))
    }

    /// Queues the cancellation of every request carrying `target`.
    @inline(__always)
    public func prepareCancelAll(_ target: UInt64, userData: UInt64) {
        ensureQueued(cshims_ring_cancel_all(ring, target, userData))
    }

    // Socket calls as requests. Each posts a completion only when it fails (IOSQE_CQE_SKIP_SUCCESS), carrying
    // `userData`; a descriptor they name must stay open until they are submitted (or be closed by a request
    // queued after them).

    /// Queues setsockopt(fd, level, name) with the `length` bytes at `value` (IORING_OP_URING_CMD, Linux 6.7).
    /// The kernel reads `value` when the request is submitted, so it must stay put until then.
    @inline(__always)
    public func prepareSetOption(_ fd: Int32, level: Int32, name: Int32, value: UnsafeRawPointer, length: Int, userData: UInt64) {
        ensureQueued(cshims_ring_setsockopt(ring, fd, level, name, value, UInt32(length), userData))
    }

    /// Queues close(fd) (IORING_OP_CLOSE, Linux 5.6; a socket's close runs inline, in the submitting call). The
    /// number stays taken until the request is submitted, so requests queued before it cannot reach another
    /// descriptor that takes the number.
    ///
    /// (No IORING_OP_SHUTDOWN here: the kernel never runs it inline but hands it to an io-wq thread, which looks
    /// the descriptor up when it gets to it, after a close queued behind it may have freed the number for another
    /// socket. Measured: 7 % of new clients shut at once when shutdowns and closes rode the ring, on 6.18.)
    @inline(__always)
    public func prepareClose(_ fd: Int32, userData: UInt64) {
        ensureQueued(cshims_ring_close(ring, fd, userData))
    }

    /// Queues connect(fd, address) (IORING_OP_CONNECT, Linux 5.5). Unlike the calls above it always posts a
    /// completion: 0 when connected, else -errno (-ECONNREFUSED, -ETIMEDOUT, -ECANCELED...). The kernel copies the
    /// `length` bytes at `address` when the request is submitted, so they must stay put until then.
    @inline(__always)
    public func prepareConnect(_ fd: Int32, to address: UnsafeRawPointer, length: UInt32, userData: UInt64) {
        ensureQueued(cshims_ring_connect(ring, fd, address.assumingMemoryBound(to: sockaddr.self), length, userData))
    }

    /// Requests queued and not yet submitted.
    @inline(__always)
    public var queued: UInt32 { cshims_ring_queued(ring) }

    /// A full submission queue is submitted before a new entry is taken, so there is always room but when
    /// the kernel refuses to take any: then there is nothing sane left to do.
    @inline(__always)
    private func ensureQueued(_ rc: Int32) {
        precondition(rc == 0, "io_uring submission queue stays full")
    }

    /// Submits what is queued and waits up to `timeoutMilliseconds` (-1: no limit, 0: do not wait) for a
    /// completion. Returns false on an error other than a timeout or an interruption.
    @inline(__always)
    @discardableResult
    public func submitAndWait(timeoutMilliseconds: Int32) -> Bool {
        let rc = timeoutMilliseconds == 0 ? cshims_ring_submit(ring) : cshims_ring_submit_and_wait(ring, timeoutMilliseconds)
        return rc >= 0 || rc == -ETIME || rc == -EINTR || rc == -EBUSY || rc == -EAGAIN
    }

    /// Calls `body(userData, result, flags)` for each completion ready now (up to one batch). Returns how many.
    @inline(__always)
    public func reap(_ body: (UInt64, Int32, UInt32) -> Void) -> Int {
        let n = Int(cshims_ring_reap(ring, completions, Int32(Self.reapBatch)))
        for i in 0..<n {
            body(completions[i].user_data, completions[i].res, completions[i].flags)
        }
        return n
    }
}

/// Runs a call that returns -errno on failure.
@inline(__always)
func checkedNegative(_ call: String, _ body: () -> Int32) throws(SystemError) -> Int32 {
    let rc = body()
    if rc < 0 { throw SystemError(call, errno: -rc) }
    return rc
}
