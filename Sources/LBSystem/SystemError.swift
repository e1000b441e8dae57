import Glibc

/// A failed system call: which call, and the errno it left.
public struct SystemError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The name of the call that failed (`"connect"`, `"splice"`).
    public let call: String
    /// The errno value.
    public let errno: Int32

    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// The outcome of a non-blocking read, write or splice: bytes moved, "try later", or an errno.
///
/// `EAGAIN` is a value, not an error, as in NIO's `IOResult`; `EINTR` never reaches callers.
@frozen
public enum IOResult: Equatable, Sendable {
    case done(Int)
    case wouldBlock
    case failed(Int32)
}

/// Runs a call that returns -1 and sets errno on failure; retries on EINTR and maps EAGAIN to `.wouldBlock`.
///
/// `@inline(__always)` keeps the errno read right after the call, with no ARC traffic in between.
@inline(__always)
func nonBlocking(_ body: () -> Int) -> IOResult {
    while true {
        let rc = body()
        if rc >= 0 { return .done(rc) }
        let err = Glibc.errno
        if err == EINTR { continue }
        if err == EAGAIN || err == EWOULDBLOCK { return .wouldBlock }
        return .failed(err)
    }
}

/// Runs a call that returns -1 and sets errno on failure; retries on EINTR and throws anything else.
@inline(__always)
func checked(_ call: String, _ body: () -> Int32) throws(SystemError) -> Int32 {
    while true {
        let rc = body()
        if rc >= 0 { return rc }
        let err = Glibc.errno
        if err == EINTR { continue }
        throw SystemError(call, errno: err)
    }
}

/// Closes a descriptor once. On Linux the descriptor is gone even when close reports EINTR, so never retry.
@inline(__always)
public func closeDescriptor(_ fd: Int32) {
    _ = Glibc.close(fd)
}

/// A second descriptor for the same open file (socket, pipe), close-on-exec. The file stays open until both are
/// closed, which is how a listening socket passes from one engine to the next without ever closing.
///
/// - Throws: `SystemError` naming fcntl(F_DUPFD_CLOEXEC) (EMFILE when descriptors ran out).
/// - Returns: the new descriptor. Wraps `fcntl(fd, F_DUPFD_CLOEXEC, 0)`, which returns -1 and sets errno on failure.
public func duplicateDescriptor(_ fd: Int32) throws(SystemError) -> Int32 {
    try checked("fcntl(F_DUPFD_CLOEXEC)") { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
}
