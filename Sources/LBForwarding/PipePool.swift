import LBSystem

/// A worker's pool of kernel pipes for splice. A direction takes a pipe when it has bytes to move and gives it
/// back as soon as the pipe is empty, so an idle connection holds no pipe.
///
/// Pipes are sized with F_SETPIPE_SZ and the granted size read back. When the per-user pipe budget is spent
/// (no CAP_SYS_RESOURCE, as in a default container) F_SETPIPE_SZ fails with EPERM and new pipes are tiny:
/// the pool then reports itself exhausted and callers copy instead.
final class PipePool {
    private var free: [(read: Int32, write: Int32)] = []
    private let requestedSize: Int
    private let keepAtMost: Int
    private(set) var exhausted = false
    private(set) var grantedSize = 0
    /// Pipes handed out and not yet returned.
    private(set) var inUse = 0
    private let notice: @Sendable (String) -> Void

    init(requestedSize: Int, keepAtMost: Int = 256, notice: @escaping @Sendable (String) -> Void) {
        self.requestedSize = requestedSize
        self.keepAtMost = keepAtMost
        self.notice = notice
        free.reserveCapacity(keepAtMost)
    }

    deinit {
        for pipe in free {
            closeDescriptor(pipe.read)
            closeDescriptor(pipe.write)
        }
    }

    /// Pipes waiting in the pool.
    var pooled: Int { free.count }

    /// An empty pipe, or nil when none can be had (budget spent, descriptors exhausted).
    @inline(__always)
    func take() -> (read: Int32, write: Int32)? {
        if let pipe = free.popLast() {
            inUse += 1
            return pipe
        }
        if exhausted { return nil }
        guard let pipe = try? Pipe.make() else { return nil }
        switch Pipe.setCapacity(pipe.write, bytes: requestedSize) {
        case .done(let granted):
            grantedSize = granted
        case .failed(let err):
            exhausted = true
            notice(
                "pipe budget spent (F_SETPIPE_SZ \(requestedSize): \(Errno.describe(err))); "
                    + "new connections copy through user space instead of splicing"
            )
            closeDescriptor(pipe.read)
            closeDescriptor(pipe.write)
            return nil
        case .wouldBlock:
            break
        }
        inUse += 1
        return pipe
    }

    /// Gives back an empty pipe.
    @inline(__always)
    func give(_ pipe: (read: Int32, write: Int32)) {
        inUse -= 1
        if free.count < keepAtMost {
            free.append(pipe)
        } else {
            closeDescriptor(pipe.read)
            closeDescriptor(pipe.write)
        }
    }

    /// Drops a pipe that may still hold bytes (the connection was reset): it cannot be reused.
    func discard(_ pipe: (read: Int32, write: Int32)) {
        inUse -= 1
        closeDescriptor(pipe.read)
        closeDescriptor(pipe.write)
    }
}
