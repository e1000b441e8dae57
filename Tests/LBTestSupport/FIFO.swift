import Foundation
import Glibc

/// A named pipe at a fresh temporary path, for checking that a file setting given a FIFO is refused instead of
/// blocking in open(2) until a writer comes.
public final class FIFO: Sendable {
    public let path: String

    public init() throws {
        path = NSTemporaryDirectory() + "tessera-lb-fifo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkfifo(path, 0o600) == 0 else {
            throw NSError(domain: NSPOSIXErrorDomain, code: Int(errno), userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// Runs `body` on a thread of its own and returns its result, or nil when it has not returned within
    /// `seconds`; a body blocked on the FIFO is then released (a writer opens and closes it) so the thread ends.
    public func finishes<Result: Sendable>(within seconds: Double = 10, _ body: @escaping @Sendable () -> Result) -> Result? {
        let done = DispatchSemaphore(value: 0)
        let result = Box<Result>()
        Thread.detachNewThread {
            result.value = body()
            done.signal()
        }
        if done.wait(timeout: .now() + seconds) == .success { return result.value }
        let writer = open(path, O_WRONLY | O_NONBLOCK)
        if writer >= 0 { close(writer) }
        _ = done.wait(timeout: .now() + seconds)
        return nil
    }

    deinit { unlink(path) }
}

private final class Box<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?
    var value: Value? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
