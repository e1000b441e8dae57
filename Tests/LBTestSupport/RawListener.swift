import Glibc

/// A plain blocking listener on loopback for tests that need a peer with exact TCP behaviour (half-close in
/// a given order, a reset at a given moment) rather than a Tessera stand-in.
public final class RawListener: @unchecked Sendable {
    public let fd: Int32
    public let port: Int
    public let host: String

    public init(host: String = "127.0.0.1", port: Int = 0, backlog: Int32 = 128) throws {
        self.host = host
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &sin.sin_addr)
        let rc = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0, listen(fd, backlog) == 0 else {
            Glibc.close(fd)
            throw TestSocket.Failure(description: "bind/listen \(host):\(port): errno \(errno)")
        }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.port = Int(UInt16(bigEndian: bound.sin_port))
    }

    /// Waits up to `timeout` seconds for a connection; returns it as a `TestSocket`-like accepted socket.
    public func accept(timeout: Double = 10) throws -> AcceptedSocket {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { throw TestSocket.Failure(description: "no connection within \(timeout) s") }
        let conn = Glibc.accept(fd, nil, nil)
        guard conn >= 0 else { throw TestSocket.Failure(description: "accept: errno \(errno)") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return AcceptedSocket(fd: conn)
    }

    deinit { Glibc.close(fd) }
}

/// The server side of a `RawListener` connection.
public final class AcceptedSocket: @unchecked Sendable {
    public private(set) var fd: Int32
    init(fd: Int32) { self.fd = fd }
    deinit { close() }

    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
        if n != bytes.count { throw TestSocket.Failure(description: "send: errno \(errno)") }
    }

    /// Sends every byte (blocking until the socket takes them).
    public func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw TestSocket.Failure(description: "send: \(String(cString: strerror(errno))) (errno \(errno))") }
            sent += n
        }
    }

    /// Reads until end of stream; throws on a reset or timeout.
    public func receiveAll() throws -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, $0.count, 0) }
            if n == 0 { return all }
            if n < 0 {
                if errno == EINTR { continue }
                throw TestSocket.Failure(description: "recv: \(String(cString: strerror(errno))) (errno \(errno))")
            }
            all += buffer[0..<n]
        }
    }

    public func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    public func reset() {
        var lg = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, socklen_t(MemoryLayout<linger>.size))
        close()
    }

    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }
}
