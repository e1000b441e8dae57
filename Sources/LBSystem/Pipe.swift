import CShims
import Glibc

/// Kernel pipes and splice(2): the zero-copy mover.
public enum Pipe {
    /// A non-blocking, close-on-exec pipe: (read end, write end).
    ///
    /// - Throws: `SystemError` naming pipe2 (EMFILE, ENFILE).
    public static func make() throws(SystemError) -> (read: Int32, write: Int32) {
        var fds: (Int32, Int32) = (-1, -1)
        _ = try withUnsafeMutableBytes(of: &fds) { (raw) throws(SystemError) -> Int32 in
            let p = raw.baseAddress!.assumingMemoryBound(to: Int32.self)
            return try checked("pipe2") { cshims_pipe(p) }
        }
        return (fds.0, fds.1)
    }

    /// Asks for a pipe capacity with F_SETPIPE_SZ and returns what the kernel granted (F_GETPIPE_SZ).
    ///
    /// - Returns: `.done(capacity)`, or `.failed(EPERM)` when the per-user pipe budget is spent
    ///   (no CAP_SYS_RESOURCE): the pipe then keeps the size the kernel gave it.
    public static func setCapacity(_ fd: Int32, bytes: Int) -> IOResult {
        let rc = cshims_set_pipe_size(fd, Int32(bytes))
        if rc < 0 { return .failed(Glibc.errno) }
        return .done(Int(cshims_get_pipe_size(fd)))
    }

    /// The capacity in bytes (F_GETPIPE_SZ).
    public static func capacity(_ fd: Int32) -> Int {
        Int(cshims_get_pipe_size(fd))
    }

    /// splice(2) between a socket and a pipe, non-blocking, with SPLICE_F_MOVE (and SPLICE_F_MORE when `more`).
    ///
    /// `.wouldBlock` from socket to pipe is ambiguous: the socket is empty, or the pipe has no free slot.
    /// `.done(0)` from a socket is end of stream.
    @inline(__always)
    public static func splice(from source: Int32, to destination: Int32, count: Int, more: Bool = false) -> IOResult {
        let flags = CSHIMS_SPLICE_F_MOVE | CSHIMS_SPLICE_F_NONBLOCK | (more ? CSHIMS_SPLICE_F_MORE : 0)
        return nonBlocking { cshims_splice(source, destination, count, flags) }
    }
}
