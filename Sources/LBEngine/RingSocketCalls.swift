import Glibc
public import LBSystem

/// A connection's socket calls as requests on the worker's ring instead of system calls (io_uring engine, where
/// the kernel has them): the node socket's options (six setsockopt calls with the defaults), its connect, and the
/// closes of both sockets. They go to the kernel in the worker's one io_uring_enter per turn, in the order they
/// were queued. The options and closes run inline there and post a completion only when they fail
/// (`EventToken.ignored`: nothing to do about a failed option or close, as with the direct calls, whose results
/// are not read either). The connect posts its outcome, which stands in for the poll that watched a connect made
/// by a system call (with the ring copy mover; splice mode keeps the system call and the poll).
///
/// Order is what makes this safe: a request that names a descriptor must reach the kernel before the number can
/// be another socket's. A close queued after it on the same ring keeps the number taken until then. So
/// setsockopt rides the ring only where close does too (`Support.effective`), and every close of a connection's
/// socket goes through `close` here; a connection moved by the ring copy mover then needs no submit of its own
/// before its sockets close (`EventSource.submitBeforeClosing`). The half-close's shutdown stays a system call
/// (`IoUring.prepareClose` says why); the one right before a close is left out, as the close sends that FIN.
///
/// What it costs: a descriptor is freed at the end of the turn instead of at once. Where descriptors run out
/// (EMFILE), `submitClosed` hands the queued closes to the kernel before the worker gives up on one.
public final class RingSocketCalls {
    /// Which calls the kernel runs as requests (found by `probe`).
    public struct Support: OptionSet, Sendable, CustomStringConvertible {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// IORING_OP_CLOSE (Linux 5.6).
        public static let close = Support(rawValue: 1)
        /// IORING_OP_URING_CMD with SOCKET_URING_OP_SETSOCKOPT (Linux 6.7).
        public static let setOptions = Support(rawValue: 2)
        /// IORING_OP_CONNECT (Linux 5.5).
        public static let connect = Support(rawValue: 4)
        public static let all: Support = [.close, .setOptions, .connect]

        /// The names the log and `TESSERA_LB_TEST_RING_WITHOUT` use.
        public static let names: [(Support, String)] = [(.setOptions, "setsockopt"), (.close, "close"), (.connect, "connect")]

        /// What the worker uses of what the kernel has: setsockopt and connect only with close (see the type's
        /// comment: without it, a queued request could reach a descriptor that took a closed socket's number).
        public var effective: Support { contains(.close) ? self : [] }

        public var description: String {
            let on = Self.names.filter { contains($0.0) }.map(\.1)
            return on.isEmpty ? "none" : on.joined(separator: ", ")
        }

        /// The calls named in `list` (comma-separated, as in `TESSERA_LB_TEST_RING_WITHOUT`); unknown names are
        /// ignored.
        public static func named(_ list: String) -> Support {
            var found: Support = []
            for name in list.split(separator: ",") {
                let trimmed = String(name.filter { $0 != " " })
                for (call, callName) in names where callName == trimmed { found.insert(call) }
            }
            return found
        }
    }

    /// What this kernel runs on the ring, probed once per process, less what the test hook
    /// `TESSERA_LB_TEST_RING_WITHOUT` (e.g. `setsockopt,close`) says to treat as missing (tests of the fallback, and
    /// before/after measurements with one binary), then `effective`.
    public static let support: Support = {
        var found = probe()
        if let without = getenv("TESSERA_LB_TEST_RING_WITHOUT") { found.subtract(Support.named(String(cString: without))) }
        return found.effective
    }()

    public let ring: IoUring
    public let setsOptions: Bool
    /// Whether node connects go on the ring (`connect`): the caller then learns the outcome from the request's
    /// completion instead of a poll.
    public let connects: Bool
    /// The node socket options (`Socket.nodeOptions`) and their values, which the kernel reads when the requests
    /// are submitted: they stay here, unchanged, while the ring lives.
    private let options: [Socket.IntOption]
    private let values: UnsafeMutablePointer<Int32>
    /// The addresses `connect` names by service and node, as the kernel reads them (a `sockaddr` each,
    /// `addressStride` bytes apart, service-major), their lengths, and where each service's start: they stay here,
    /// unchanged, while the ring lives.
    private let addresses: UnsafeMutableRawPointer
    private let addressLengths: [UInt32]
    private let serviceStart: [Int]
    private static var addressStride: Int { MemoryLayout<sockaddr_storage>.stride }
    /// Closes were queued since the last `submitClosed`.
    private var closesQueued = false

    /// - Parameter connectAddresses: per service, its node addresses: what `connect(_:service:node:userData:)`
    ///   connects to.
    public init(ring: IoUring, support: Support, nodeOptions: [Socket.IntOption], connectAddresses: [[SocketAddress]] = []) {
        self.ring = ring
        setsOptions = support.contains(.setOptions)
        connects = support.contains(.connect)
        options = nodeOptions
        values = .allocate(capacity: max(1, nodeOptions.count))
        for (k, option) in nodeOptions.enumerated() { values[k] = option.value }
        var starts: [Int] = []
        var count = 0
        for service in connectAddresses {
            starts.append(count)
            count += service.count
        }
        let flat = connectAddresses.flatMap { $0 }
        let table = UnsafeMutableRawPointer.allocate(byteCount: max(1, flat.count) * Self.addressStride, alignment: 16)
        var lengths: [UInt32] = []
        for (k, address) in flat.enumerated() {
            address.withSockAddr { sockaddr, length in
                (table + k * Self.addressStride).copyMemory(from: sockaddr, byteCount: Int(length))
                lengths.append(UInt32(length))
            }
        }
        addresses = table
        addressLengths = lengths
        serviceStart = starts
    }

    deinit {
        values.deallocate()
        addresses.deallocate()
    }

    /// Queues connect(fd) to node `node` of service `service` in `connectAddresses` (with `connects`). Its
    /// completion carries `userData` and the outcome: 0 connected, else -errno. Until it completes the request holds
    /// the socket, so a connection given up earlier cancels it (by `userData`) before closing the socket.
    @inline(__always)
    public func connect(_ fd: Int32, service: Int, node: Int, userData: UInt64) {
        let k = serviceStart[service] + node
        ring.prepareConnect(fd, to: addresses + k * Self.addressStride, length: addressLengths[k], userData: userData)
    }

    /// Queues the node socket's options (with `setsOptions`).
    @inline(__always)
    public func setNodeOptions(_ fd: Int32) {
        for k in options.indices {
            ring.prepareSetOption(
                fd, level: options[k].level, name: options[k].name, value: values + k, length: MemoryLayout<Int32>.size,
                userData: EventToken.ignored.raw
            )
        }
    }

    /// Queues the close of a connection's socket, with a reset instead of a FIN when `reset`
    /// (SO_LINGER {1, 0} at once: the socket is still open, its number taken until the close is submitted).
    @inline(__always)
    public func close(_ fd: Int32, reset: Bool) {
        if reset { Socket.resetOnClose(fd) }
        ring.prepareClose(fd, userData: EventToken.ignored.raw)
        closesQueued = true
    }

    /// Descriptors ran out: the closes queued this turn go to the kernel now, so their numbers are free again.
    /// False when none were queued (nothing to retry).
    public func submitClosed() -> Bool {
        guard closesQueued else { return false }
        closesQueued = false
        ring.submitAndWait(timeoutMilliseconds: 0)
        return true
    }

    // MARK: - The probe

    /// Does each call on a scratch ring, as the worker will (skip-success flag included), and checks its effect:
    /// an option read back, a descriptor gone. A kernel without one (or without
    /// IOSQE_CQE_SKIP_SUCCESS) answers with an error completion, and that call stays a system call.
    public static func probe() -> Support {
        guard let ring = try? IoUring(entries: 8, completionEntries: 16, flags: []) else { return [] }
        let socket = Socket.openStream(family: .ipv4)
        guard socket >= 0 else { return [] }
        defer { closeDescriptor(socket) }

        var found: Support = []
        // setsockopt: TCP_KEEPCNT to a value that is not the default (9), read back.
        let option = Socket.IntOption.keepaliveCount(3)
        let value = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        defer { value.deallocate() }
        value.pointee = option.value
        ring.prepareSetOption(socket, level: option.level, name: option.name, value: value, length: 4, userData: 1)
        if submitWithoutFailure(ring), Socket.intOption(socket, level: option.level, name: option.name) == option.value {
            found.insert(.setOptions)
        }
        // connect: to a listener of our own on loopback, and the completion says connected.
        if let listener = try? Socket.listen(on: SocketAddress(ipLiteral: "127.0.0.1", port: 0)!, reusePort: false, backlog: 1) {
            defer { closeDescriptor(listener) }
            let client = Socket.openStream(family: .ipv4)
            if client >= 0 {
                defer { closeDescriptor(client) }
                let target = SocketAddress(ipLiteral: "127.0.0.1", port: Socket.localPort(listener))!
                var outcome: Int32 = 1
                target.withSockAddr { address, length in
                    ring.prepareConnect(client, to: address, length: UInt32(length), userData: 3)
                    ring.submitAndWait(timeoutMilliseconds: 1_000)
                }
                _ = ring.reap { userData, result, _ in if userData == 3 { outcome = result } }
                if outcome == 0 { found.insert(.connect) }
            }
        }
        // close: the descriptor is gone (or, if another thread took its number at once, it is another file).
        if let scratch = try? EventFd.make() {
            let before = identity(scratch)
            ring.prepareClose(scratch, userData: 2)
            if submitWithoutFailure(ring), before != nil, identity(scratch) != before {
                found.insert(.close)
            } else {
                closeDescriptor(scratch)
            }
        }
        return found
    }

    /// Submits the one request queued and waits a moment for a completion, which these requests post only on
    /// failure: true when none came.
    private static func submitWithoutFailure(_ ring: IoUring) -> Bool {
        // These requests complete inline, in the submitting call; an unknown opcode or flag fails there too.
        ring.submitAndWait(timeoutMilliseconds: 0)
        var failed = false
        _ = ring.reap { _, _, _ in failed = true }
        return !failed
    }

    /// The file a descriptor names (device and inode), nil when it names none.
    private static func identity(_ fd: Int32) -> [UInt64]? {
        var status = stat()
        guard fstat(fd, &status) == 0 else { return nil }
        return [UInt64(status.st_dev), UInt64(status.st_ino)]
    }
}
