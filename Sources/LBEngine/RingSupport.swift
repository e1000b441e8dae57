import Glibc
public import LBSystem

/// Whether the io_uring engine can run here, found at start by doing what the engine does on a scratch ring:
/// set it up (disabled, then enabled), arm a multishot accept and a multishot poll, register provided buffers
/// and arm a multishot recv into them, and see each complete.
public enum RingSupport {
    /// What the probe found.
    public enum Finding: Sendable {
        /// The engine can run, with these setup flags (`detail` names them).
        case usable(IoUring.SetupFlags, detail: String)
        /// It cannot: why, in one phrase for the log.
        case unusable(String)
    }

    /// Setup flag sets from the most to the least the engine can use: SINGLE_ISSUER + DEFER_TASKRUN (6.1:
    /// completions run only when the worker asks, in its own thread), COOP_TASKRUN (5.19), then none.
    static let candidates: [(IoUring.SetupFlags, String)] = [
        ([.singleIssuer, .deferTaskRun, .submitAll], "single-issuer, defer-taskrun"),
        ([.coopTaskRun, .submitAll], "coop-taskrun"),
        ([.submitAll], "submit-all"),
    ]

    public static func probe() -> Finding {
        var lastError: SystemError?
        for (flags, names) in candidates {
            let ring: IoUring
            do {
                ring = try IoUring(entries: 8, completionEntries: 16, flags: flags.union(.disabled))
                try ring.enable()
            } catch {
                if error.errno == EINVAL { lastError = error; continue }  // flags this kernel lacks
                return .unusable(explain(error))
            }
            if let missing = tryOperations(on: ring) { return .unusable(missing) }
            return .usable(flags, detail: "\(names); on the ring: \(RingSocketCalls.support)")
        }
        return .unusable(lastError.map(explain) ?? "io_uring_setup refused every flag set")
    }

    /// Why setup failed, in the operator's terms.
    static func explain(_ error: SystemError) -> String {
        switch error.errno {
        case EPERM:
            let sysctl = firstByte(of: "/proc/sys/kernel/io_uring_disabled")
            if sysctl == "2" { return "io_uring_setup: EPERM (kernel.io_uring_disabled = 2)" }
            if sysctl == "1" { return "io_uring_setup: EPERM (kernel.io_uring_disabled = 1 and not in io_uring_group)" }
            return "io_uring_setup: EPERM (a seccomp profile blocks it, as Docker 25+ and containerd 2.0 do by default)"
        case ENOSYS:
            // podman's (and runc's) default seccomp profile answers a call it does not list with ENOSYS, not EPERM.
            if underSeccompFilter() {
                return "io_uring_setup: ENOSYS (a seccomp profile blocks it, as podman's default does, or the kernel has no io_uring)"
            }
            return "io_uring_setup: ENOSYS (kernel built without io_uring)"
        case EINVAL:
            return "io_uring_setup: EINVAL (kernel too old for the engine's setup flags)"
        default:
            return "\(error)"
        }
    }

    /// Whether a seccomp filter applies to this process: `Seccomp: 2` in /proc/self/status.
    private static func underSeccompFilter() -> Bool {
        let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { closeDescriptor(fd) }
        var bytes = [UInt8](repeating: 0, count: 8192)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if got <= 0 { break }
            count += got
        }
        return String(decoding: bytes[..<count], as: UTF8.self).contains("\nSeccomp:\t2\n")
    }

    /// The first character of a small file (a sysctl's value), if readable.
    private static func firstByte(of path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { closeDescriptor(fd) }
        var byte: UInt8 = 0
        guard read(fd, &byte, 1) == 1 else { return nil }
        return String(UnicodeScalar(byte))
    }

    /// Arms a one-shot accept on a loopback listener (as `RingEvents` does) and a multishot poll on an eventfd,
    /// makes both fire, and checks the accept brings a socket and the poll stays armed. Nil when all works, else
    /// what did not.
    private static func tryOperations(on ring: IoUring) -> String? {
        ring.registerRingDescriptor()
        guard let loopback = SocketAddress(ipLiteral: "127.0.0.1", port: 0),
              let listener = try? Socket.listen(on: loopback, reusePort: false)
        else { return nil }  // no loopback to try on: trust setup
        defer { closeDescriptor(listener) }
        guard let wake = try? EventFd.make() else { return nil }
        defer { closeDescriptor(wake) }
        let acceptToken = EventToken.listener(0)
        ring.prepareAccept(listener, userData: acceptToken.raw)
        ring.preparePollMultishot(wake, mask: IoUring.pollIn, userData: EventToken.wake.raw)
        EventFd.signal(wake)
        let client = try? Socket.connect(to: loopback.withPort(Socket.localPort(listener)))
        defer { if let client { closeDescriptor(client.fd) } }
        var accepted: Int32?
        var polled: (Int32, Bool)?
        let deadline = MonotonicClock.nowMilliseconds() + 1_000
        while (accepted == nil || polled == nil) && MonotonicClock.nowMilliseconds() < deadline {
            ring.submitAndWait(timeoutMilliseconds: 100)
            _ = ring.reap { data, result, flags in
                let more = flags & IoUring.more != 0
                if data == acceptToken.raw { accepted = result }
                if data == EventToken.wake.raw && polled == nil { polled = (result, more) }
            }
        }
        defer { if let accepted, accepted >= 0 { closeDescriptor(accepted) } }
        guard let accepted, accepted >= 0 else {
            let why = accepted.map { Errno.describe(-$0) } ?? "no completion"
            return "accept does not work here (\(why); it needs Linux 5.5)"
        }
        guard let polled, polled.0 & Int32(IoUring.pollIn) != 0, polled.1 else {
            return "multishot poll does not work here (it needs Linux 5.13)"
        }
        // The ring copy mover: a multishot recv into a registered provided-buffer ring.
        do {
            try ring.provideBuffers(count: 8, size: 64, group: 7)
        } catch {
            return "provided-buffer rings do not work here (\(error); they need Linux 5.19)"
        }
        let receiveToken = EventToken(slot: 0, generation: 0, side: .client, operation: .receive)
        ring.prepareReceiveMultishot(accepted, group: 7, userData: receiveToken.raw)
        if let client { _ = Socket.write(client.fd, from: "x", count: 1) }
        var received: (Int32, UInt32)?
        while received == nil && MonotonicClock.nowMilliseconds() < deadline + 1_000 {
            ring.submitAndWait(timeoutMilliseconds: 100)
            _ = ring.reap { data, result, flags in
                if data == receiveToken.raw && received == nil { received = (result, flags) }
            }
        }
        guard let received, received.0 == 1, received.1 & IoUring.bufferFlag != 0, received.1 & IoUring.more != 0 else {
            let why = received.map { $0.0 < 0 ? Errno.describe(-$0.0) : "not multishot" } ?? "no completion"
            return "multishot recv into provided buffers does not work here (\(why); it needs Linux 6.0)"
        }
        return nil
    }
}
