import CShims
import Glibc

/// Non-blocking stream sockets: the calls the data path makes, each a thin typed wrapper.
public enum Socket {
    /// A listening socket bound to `address`, non-blocking, with SO_REUSEADDR, optionally SO_REUSEPORT (one
    /// listener per worker, the kernel spreads connections) and TCP_NODELAY (inherited by accepted sockets).
    /// `freeBind` sets IP_FREEBIND (IPV6_FREEBIND): the bind succeeds for an address the host does not hold yet,
    /// and connections arrive once it does (a floating address that keepalived moves here).
    ///
    /// - Throws: `SystemError` naming socket, setsockopt, bind or listen.
    public static func listen(
        on address: SocketAddress,
        reusePort: Bool,
        noDelay: Bool = true,
        freeBind: Bool = false,
        backlog: Int32 = 4096
    ) throws(SystemError) -> Int32 {
        let fd = try bind(address, reusePort: reusePort, noDelay: noDelay, freeBind: freeBind)
        do {
            _ = try checked("listen(\(address))") { cshims_listen(fd, backlog) }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        return fd
    }

    /// A socket bound to `address` (options as `listen` sets them) and not listening yet: it holds the address
    /// and a descriptor, and connections to it are refused until its owner listens.
    ///
    /// - Throws: `SystemError` naming socket, setsockopt or bind.
    public static func bind(
        _ address: SocketAddress, reusePort: Bool = false, noDelay: Bool = true, freeBind: Bool = false
    ) throws(SystemError) -> Int32 {
        let fd: Int32
        if address.family == .unix {
            fd = try checked("socket") { cshims_socket_unix() }
        } else {
            fd = try checked("socket") { cshims_socket_stream(address.family == .ipv4 ? AF_INET : AF_INET6) }
        }
        do {
            if address.family != .unix {
                try setOption(fd, CSHIMS_SOL_SOCKET, CSHIMS_SO_REUSEADDR, 1, "SO_REUSEADDR")
                if reusePort { try setOption(fd, CSHIMS_SOL_SOCKET, CSHIMS_SO_REUSEPORT, 1, "SO_REUSEPORT") }
                if noDelay { try setOption(fd, CSHIMS_IPPROTO_TCP, CSHIMS_TCP_NODELAY, 1, "TCP_NODELAY") }
                if freeBind {
                    if address.family == .ipv4 {
                        try setOption(fd, CSHIMS_IPPROTO_IP, CSHIMS_IP_FREEBIND, 1, "IP_FREEBIND")
                    } else {
                        try setOption(fd, CSHIMS_IPPROTO_IPV6, CSHIMS_IPV6_FREEBIND, 1, "IPV6_FREEBIND")
                    }
                }
            }
            _ = try checked("bind(\(address))") { address.withSockAddr { cshims_bind(fd, $0, $1) } }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        return fd
    }

    /// A port on `address`'s host that no socket holds now. Binding port 0 with SO_REUSEPORT may hand out a
    /// port that other SO_REUSEPORT sockets of this user already share (the kernel sees no conflict), so
    /// listeners asking for "any port" take one from a plain socket first.
    public static func unusedPort(on address: SocketAddress, freeBind: Bool = false) throws(SystemError) -> Int {
        let fd = try listen(on: address.withPort(0), reusePort: false, noDelay: false, freeBind: freeBind, backlog: 1)
        defer { closeDescriptor(fd) }
        return localPort(fd)
    }

    /// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC: the new descriptor, `.wouldBlock` when the queue is empty,
    /// or the errno (EMFILE, ENFILE, ECONNABORTED...).
    @inline(__always)
    public static func accept(_ listener: Int32) -> IOResult {
        nonBlocking { Int(cshims_accept(listener)) }
    }

    /// An unconnected non-blocking stream socket of `family` (close-on-exec); -1 with errno set when socket(2)
    /// fails.
    @inline(__always)
    public static func openStream(family: SocketAddress.Family) -> Int32 {
        cshims_socket_stream(family == .ipv6 ? AF_INET6 : AF_INET)
    }

    /// Starts a non-blocking connect. Returns the descriptor and whether it is already connected
    /// (loopback can finish at once); EINPROGRESS is the normal outcome, not an error.
    ///
    /// - Throws: `SystemError` for socket(2) failures and immediate connect failures (ECONNREFUSED...).
    @inline(__always)
    public static func connect(to address: SocketAddress, noDelay: Bool = true) throws(SystemError) -> (fd: Int32, connected: Bool) {
        let fd = openStream(family: address.family)
        if fd < 0 { throw SystemError("socket", errno: Glibc.errno) }
        return (fd, try connect(fd, to: address, noDelay: noDelay))
    }

    /// Starts a non-blocking connect of `fd`, a socket from `openStream`: whether it is already connected.
    ///
    /// - Throws: `SystemError` for an immediate connect failure (ECONNREFUSED...); `fd` is closed then.
    @inline(__always)
    public static func connect(_ fd: Int32, to address: SocketAddress, noDelay: Bool = true) throws(SystemError) -> Bool {
        if noDelay { _ = cshims_set_int_option(fd, CSHIMS_IPPROTO_TCP, CSHIMS_TCP_NODELAY, 1) }
        while true {
            let rc = address.withSockAddr { cshims_connect(fd, $0, $1) }
            if rc == 0 { return true }
            let err = Glibc.errno
            if err == EINTR { continue }
            if err == EINPROGRESS { return false }
            closeDescriptor(fd)
            throw SystemError("connect(\(address))", errno: err)
        }
    }

    /// The pending error of a socket (SO_ERROR): 0 when none.
    @inline(__always)
    public static func pendingError(_ fd: Int32) -> Int32 {
        let rc = cshims_socket_error(fd)
        return rc < 0 ? Glibc.errno : rc
    }

    /// read(2) into `buffer`.
    @inline(__always)
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) -> IOResult {
        nonBlocking { Glibc.read(fd, buffer, count) }
    }

    /// write(2) from `buffer`. (SIGPIPE must be ignored process-wide; see `ProcessSetup.ignoreSIGPIPE`.)
    @inline(__always)
    public static func write(_ fd: Int32, from buffer: UnsafeRawPointer, count: Int) -> IOResult {
        nonBlocking { Glibc.write(fd, buffer, count) }
    }

    /// shutdown(fd, SHUT_WR): sends our FIN; the other direction keeps flowing.
    @inline(__always)
    public static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, CSHIMS_SHUT_WR)
    }

    /// Closes with a reset instead of a FIN (SO_LINGER {1, 0}, then close).
    @inline(__always)
    public static func closeWithReset(_ fd: Int32) {
        resetOnClose(fd)
        closeDescriptor(fd)
    }

    /// SO_LINGER {1, 0}: the socket's close will send a reset instead of a FIN.
    @inline(__always)
    public static func resetOnClose(_ fd: Int32) {
        _ = cshims_set_linger_zero(fd)
    }

    /// Whether bytes were received that nobody read (closing such a socket sends a reset, not a FIN).
    public static func hasUnreadBytes(_ fd: Int32) -> Bool {
        fd >= 0 && cshims_unread_bytes(fd) > 0
    }

    /// Sets TCP_NODELAY.
    public static func setNoDelay(_ fd: Int32) {
        _ = cshims_set_int_option(fd, CSHIMS_IPPROTO_TCP, CSHIMS_TCP_NODELAY, 1)
    }

    /// Keepalive probes on node sockets: this many, this far apart, after the idle time.
    public static let keepaliveIntervalSeconds = 5
    public static let keepaliveProbes = 3

    /// The TCP_USER_TIMEOUT a node socket gets: the configured one, but with keepalive on never less than the
    /// idle time plus every probe's interval. The kernel's keepalive timer (tcp_keepalive_timer) aborts once
    /// the user timeout has passed since the peer was last heard and one probe is out, so a shorter one would
    /// reset an idle connection at the first probe that goes unanswered instead of after all of them.
    public static func effectiveUserTimeoutMs(configured: Int, keepaliveIdleSeconds: Int) -> Int {
        guard configured > 0, keepaliveIdleSeconds > 0 else { return configured }
        return max(configured, (keepaliveIdleSeconds + keepaliveIntervalSeconds * keepaliveProbes) * 1_000)
    }

    /// Bounds how long a connection to a vanished peer can live: TCP_USER_TIMEOUT (unacknowledged data fails
    /// the connection after `userTimeoutMs`, raised as `effectiveUserTimeoutMs` says; 0 leaves the kernel
    /// default) and keepalive probes after `keepaliveIdleSeconds` of silence (0: off).
    @inline(__always)
    public static func bound(_ fd: Int32, userTimeoutMs: Int, keepaliveIdleSeconds: Int) {
        let userTimeout = effectiveUserTimeoutMs(configured: userTimeoutMs, keepaliveIdleSeconds: keepaliveIdleSeconds)
        if userTimeout > 0 { _ = cshims_set_int_option(fd, CSHIMS_IPPROTO_TCP, CSHIMS_TCP_USER_TIMEOUT, Int32(userTimeout)) }
        if keepaliveIdleSeconds > 0 {
            _ = cshims_set_int_option(fd, CSHIMS_SOL_SOCKET, CSHIMS_SO_KEEPALIVE, 1)
            _ = cshims_set_int_option(fd, CSHIMS_IPPROTO_TCP, CSHIMS_TCP_KEEPIDLE, Int32(keepaliveIdleSeconds))
            _ = cshims_set_int_option(fd, CSHIMS_IPPROTO_TCP, CSHIMS_TCP_KEEPINTVL, Int32(keepaliveIntervalSeconds))
            _ = cshims_set_int_option(fd, CSHIMS_IPPROTO_TCP, CSHIMS_TCP_KEEPCNT, Int32(keepaliveProbes))
        }
    }

    /// One integer socket option.
    public struct IntOption: Equatable, Sendable {
        public let level: Int32
        public let name: Int32
        public let value: Int32

        /// TCP_KEEPCNT.
        public static func keepaliveCount(_ value: Int32) -> IntOption {
            IntOption(level: CSHIMS_IPPROTO_TCP, name: CSHIMS_TCP_KEEPCNT, value: value)
        }
    }

    /// What a node socket gets, as a list: TCP_NODELAY (what `connect(_:to:noDelay:)` sets) and what `bound`
    /// sets, in the same order and with the same values. For the io_uring engine, which queues them as requests
    /// (`RingSocketCalls`); epoll makes the calls directly. `nodeOptionsMatchBound` (LBSystemTests) checks the two
    /// agree.
    public static func nodeOptions(userTimeoutMs: Int, keepaliveIdleSeconds: Int) -> [IntOption] {
        var options = [IntOption(level: CSHIMS_IPPROTO_TCP, name: CSHIMS_TCP_NODELAY, value: 1)]
        let userTimeout = effectiveUserTimeoutMs(configured: userTimeoutMs, keepaliveIdleSeconds: keepaliveIdleSeconds)
        if userTimeout > 0 { options.append(IntOption(level: CSHIMS_IPPROTO_TCP, name: CSHIMS_TCP_USER_TIMEOUT, value: Int32(userTimeout))) }
        if keepaliveIdleSeconds > 0 {
            options.append(IntOption(level: CSHIMS_SOL_SOCKET, name: CSHIMS_SO_KEEPALIVE, value: 1))
            options.append(IntOption(level: CSHIMS_IPPROTO_TCP, name: CSHIMS_TCP_KEEPIDLE, value: Int32(keepaliveIdleSeconds)))
            options.append(IntOption(level: CSHIMS_IPPROTO_TCP, name: CSHIMS_TCP_KEEPINTVL, value: Int32(keepaliveIntervalSeconds)))
            options.append(.keepaliveCount(Int32(keepaliveProbes)))
        }
        return options
    }

    /// Reads an integer option (for tests and the io_uring probe); nil when getsockopt fails.
    public static func intOption(_ fd: Int32, level: Int32, name: Int32) -> Int32? {
        var value: Int32 = 0
        return cshims_get_int_option(fd, level, name, &value) == 0 ? value : nil
    }

    /// Reads TCP_NODELAY (for tests).
    public static func noDelay(_ fd: Int32) -> Bool {
        var value: Int32 = 0
        _ = cshims_get_int_option(fd, CSHIMS_IPPROTO_TCP, CSHIMS_TCP_NODELAY, &value)
        return value != 0
    }

    /// The local port a socket is bound to (for listeners bound to port 0).
    public static func localPort(_ fd: Int32) -> Int {
        Int(cshims_local_port(fd))
    }

    private static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ what: String) throws(SystemError) {
        _ = try checked("setsockopt(\(what))") { cshims_set_int_option(fd, level, name, value) }
    }
}
