import Glibc

/// The errno values the data path branches on, so callers need not import Glibc.
public enum Errno {
    public static let wouldBlock = EAGAIN
    public static let inProgress = EINPROGRESS
    public static let connectionRefused = ECONNREFUSED
    public static let connectionReset = ECONNRESET
    public static let brokenPipe = EPIPE
    public static let tooManyOpenFiles = EMFILE
    public static let tooManyOpenFilesInSystem = ENFILE
    public static let noBufferSpace = ENOBUFS
    public static let noMemory = ENOMEM
    public static let invalid = EINVAL
    public static let notSupported = ENOSYS
    public static let permissionDenied = EPERM
    public static let timedOut = ETIMEDOUT
    public static let connectionAborted = ECONNABORTED

    /// The C library's text for an errno value.
    public static func describe(_ value: Int32) -> String { String(cString: strerror(value)) }
}
