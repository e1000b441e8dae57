import Glibc
import LBEngine
import LBSystem
import Synchronization

/// Sends the copies of mirrored `POST /partyinfo` requests (`PartyinfoMirror`) to the nodes, on a thread of its
/// own with its own epoll, so that no copy ever costs its worker a system call or a wait: the worker only appends
/// to a bounded queue and signals an eventfd.
///
/// Each copy gets a connection of its own, carries the request as the client sent it, and ends when the node's
/// answer has been read whole (it is discarded), or after `copyTimeoutMs`. Bounded: `queueLimit` requests and
/// `queueBytesLimit` bytes wait at most (the worker drops and counts beyond), and `maxCopies` copies are in flight.
/// Copies answered 2xx count as sent, others as failed, with a log line at most every `noticeIntervalMs`.
///
/// Thread use: `submit` on the worker's thread; everything else but `start` and `stop` on the sender's thread.
final class MirrorSender: @unchecked Sendable {
    struct Job {
        let request: [UInt8]
        let nodes: [Int]
    }

    static var queueLimit: Int { 64 }
    static var queueBytesLimit: Int { 8 << 20 }
    static var maxCopies: Int { 64 }
    /// Tessera's own P2P client gives a partyinfo POST this long, connect included (tessera-facts §3.3).
    static var copyTimeoutMs: Int64 { 3750 }
    static var noticeIntervalMs: Int64 { 10_000 }

    private let addresses: [SocketAddress]
    private let nodeNames: [String]
    private let counters: WorkerCounters
    private let notice: @Sendable (String) -> Void
    private let queue = Mutex<(jobs: [Job], bytes: Int)>(([], 0))
    private let wakeFd: Int32
    private let epoll: Epoll
    private let stopping = Atomic<Bool>(false)
    private var thread: WorkerThread?

    // The sender thread's own.
    private struct Copy {
        var fd: Int32 = -1
        var node = 0
        var request: [UInt8] = []
        var sent = 0
        var deadline: Int64 = 0
        var answer = HTTPFramer(role: .response)
    }
    private var copies = [Copy](repeating: Copy(), count: MirrorSender.maxCopies)
    private var inFlight = 0
    private var failuresSinceNotice = 0
    private var noticeAt: Int64 = 0

    /// - Parameter addresses: where each node (by index) serves the mirrored service.
    init(addresses: [SocketAddress], nodeNames: [String], counters: WorkerCounters, notice: @escaping @Sendable (String) -> Void) throws(SystemError) {
        self.addresses = addresses
        self.nodeNames = nodeNames
        self.counters = counters
        self.notice = notice
        wakeFd = try EventFd.make()
        do {
            epoll = try Epoll(capacity: 64)
            try epoll.add(wakeFd, events: Epoll.readable, data: 0)
        } catch {
            closeDescriptor(wakeFd)
            throw error
        }
    }

    deinit { closeDescriptor(wakeFd) }

    func start() {
        thread = WorkerThread { [self] in run() }
    }

    /// Stops the thread; copies in flight are abandoned (not counted).
    func stop() {
        stopping.store(true, ordering: .relaxed)
        EventFd.signal(wakeFd)
        thread?.join()
        thread = nil
    }

    /// Queues `request` for `nodes`. False when the queue is full (the caller counts the drop).
    func submit(_ request: [UInt8], to nodes: [Int]) -> Bool {
        let queued = queue.withLock { q in
            guard q.jobs.count < Self.queueLimit, q.bytes + request.count <= Self.queueBytesLimit else { return false }
            q.jobs.append(Job(request: request, nodes: nodes))
            q.bytes += request.count
            return true
        }
        if queued { EventFd.signal(wakeFd) }
        return queued
    }

    // MARK: - The sender's thread

    private func run() {
        let bufferSize = 16 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16)
        defer { buffer.deallocate() }
        while !stopping.load(ordering: .relaxed) {
            _ = epoll.wait(timeoutMilliseconds: nextTimeout()) { events, data in
                if data == 0 {
                    EventFd.drain(wakeFd)
                } else {
                    progress(Int(data) - 1, events: events, buffer: UnsafeMutableRawBufferPointer(start: buffer, count: bufferSize))
                }
            }
            let now = MonotonicClock.nowMilliseconds()
            for k in copies.indices where copies[k].fd >= 0 && copies[k].deadline <= now {
                end(k, failure: "no answer within \(Self.copyTimeoutMs) ms", now: now)
            }
            startQueued(now: now)
        }
        for k in copies.indices where copies[k].fd >= 0 {
            closeDescriptor(copies[k].fd)
            copies[k] = Copy()
        }
    }

    private func nextTimeout() -> Int32 {
        guard inFlight > 0 else { return -1 }
        let next = copies.lazy.filter { $0.fd >= 0 }.map(\.deadline).min() ?? Int64.max
        return Int32(clamping: max(0, next - MonotonicClock.nowMilliseconds()) + 1)
    }

    /// Starts the copies of queued requests while there is room for all of a request's copies.
    private func startQueued(now: Int64) {
        while true {
            let room = Self.maxCopies - inFlight
            let job: Job? = queue.withLock { q in
                guard let first = q.jobs.first, first.nodes.count <= room else { return nil }
                q.jobs.removeFirst()
                q.bytes -= first.request.count
                return first
            }
            guard let job else { return }
            for node in job.nodes { startCopy(job.request, to: node, now: now) }
        }
    }

    private func startCopy(_ request: [UInt8], to node: Int, now: Int64) {
        guard let k = copies.firstIndex(where: { $0.fd < 0 }) else { return }
        do {
            let (fd, _) = try Socket.connect(to: addresses[node])
            copies[k] = Copy(fd: fd, node: node, request: request, deadline: now + Self.copyTimeoutMs)
            inFlight += 1
            // Level-triggered: writable until the request is out, then readable until the answer is in.
            try epoll.add(fd, events: Epoll.writable | Epoll.readable | Epoll.readHangUp, data: UInt64(k + 1))
        } catch {
            if copies[k].fd >= 0 {
                end(k, failure: error.description, now: now)
            } else {
                failed(node, error.description, now: now)
            }
        }
    }

    private func progress(_ k: Int, events: UInt32, buffer: UnsafeMutableRawBufferPointer) {
        guard copies[k].fd >= 0 else { return }
        let now = MonotonicClock.nowMilliseconds()
        let fd = copies[k].fd
        if events & Epoll.error != 0 {
            end(k, failure: Errno.describe(Socket.pendingError(fd)), now: now)
            return
        }
        if copies[k].sent < copies[k].request.count && events & Epoll.writable != 0 {
            let result = copies[k].request.withUnsafeBytes { bytes in
                Socket.write(fd, from: bytes.baseAddress! + copies[k].sent, count: bytes.count - copies[k].sent)
            }
            switch result {
            case .done(let n):
                copies[k].sent += n
                if copies[k].sent == copies[k].request.count {
                    try? epoll.modify(fd, events: Epoll.readable | Epoll.readHangUp, data: UInt64(k + 1))
                }
            case .wouldBlock:
                break
            case .failed(let err):
                end(k, failure: "send: \(Errno.describe(err))", now: now)
                return
            }
        }
        guard events & (Epoll.readable | Epoll.readHangUp | Epoll.hangUp) != 0 else { return }
        switch Socket.read(fd, into: buffer.baseAddress!, count: buffer.count) {
        case .done(0):
            let answer = copies[k].answer
            if answer.endsAtClose {
                end(k, status: answer.lastStatus, now: now)
            } else {
                end(k, failure: "the node closed the connection before its whole answer", now: now)
            }
        case .done(let n):
            var offset = 0
            while offset < n {
                let (used, event) = copies[k].answer.scan(UnsafeRawBufferPointer(rebasing: buffer[offset..<n]))
                offset += used
                if event == .messageEnd && copies[k].answer.lastStatus >= 200 {
                    end(k, status: copies[k].answer.lastStatus, now: now)
                    return
                }
                if event == .gaveUp {
                    end(k, failure: "the answer is not HTTP/1.x", now: now)
                    return
                }
            }
        case .wouldBlock:
            break
        case .failed(let err):
            end(k, failure: "receive: \(Errno.describe(err))", now: now)
        }
    }

    private func end(_ k: Int, status: Int, now: Int64) {
        if (200..<300).contains(status) {
            release(k)
            counters.partyinfoCopies.bump()
        } else {
            end(k, failure: "answered \(status)", now: now)
        }
    }

    private func end(_ k: Int, failure: String, now: Int64) {
        let node = copies[k].node
        release(k)
        failed(node, failure, now: now)
    }

    private func release(_ k: Int) {
        closeDescriptor(copies[k].fd)  // also leaves the epoll set: no other descriptor refers to the socket
        copies[k] = Copy()
        inFlight -= 1
    }

    private func failed(_ node: Int, _ reason: String, now: Int64) {
        counters.partyinfoCopyFailures.bump()
        failuresSinceNotice += 1
        guard now - noticeAt >= Self.noticeIntervalMs else { return }
        notice(
            "partyinfo mirror: \(failuresSinceNotice) cop\(failuresSinceNotice == 1 ? "y" : "ies") failed since the "
                + "last line, the last to node \(nodeNames[node]): \(reason)"
        )
        failuresSinceNotice = 0
        noticeAt = now
    }
}
