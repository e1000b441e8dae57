import Glibc
@testable import LBForwarding
import LBSystem
import Synchronization
import LBTestSupport
import Testing

/// A worker's pool of kernel pipes: pipes handed out work, come back for reuse, and are closed, not pooled,
/// when they may hold bytes or the pool is full; a pipe size the kernel refuses turns the pool off, once.
@Suite("pipe pool")
struct PipePoolTests {
    private static let size = 64 * 1024

    @Test("a pipe taken carries bytes, and is sized as asked")
    func takeWorks() throws {
        let pool = PipePool(requestedSize: Self.size, notice: { _ in })
        let pipe = try #require(pool.take())
        #expect(pool.inUse == 1)
        #expect(pool.grantedSize >= Self.size)
        #expect(Pipe.capacity(pipe.write) == pool.grantedSize)
        #expect(fcntl(pipe.read, F_GETFL) & O_NONBLOCK != 0, "non-blocking, as splice on a worker needs")
        var out: [UInt8] = [1, 2, 3]
        var back: [UInt8] = [0, 0, 0, 0]
        #expect(write(pipe.write, &out, 3) == 3)
        #expect(read(pipe.read, &back, 4) == 3)
        #expect(back[0..<3] == [1, 2, 3])
        pool.give(pipe)
    }

    @Test("a pipe given back is pooled and handed out again")
    func reuse() throws {
        let pool = PipePool(requestedSize: Self.size, notice: { _ in })
        let pipe = try #require(pool.take())
        pool.give(pipe)
        #expect(pool.inUse == 0)
        #expect(pool.pooled == 1)
        let again = try #require(pool.take())
        #expect(again == pipe)
        #expect(pool.pooled == 0)
        pool.give(again)
    }

    @Test("past keepAtMost, a pipe given back is closed")
    func keepAtMost() throws {
        let pool = PipePool(requestedSize: Self.size, keepAtMost: 1, notice: { _ in })
        let first = try #require(pool.take())
        let second = try #require(pool.take())
        #expect(first != second)
        #expect(pool.inUse == 2)
        pool.give(first)
        pool.give(second)
        #expect(pool.inUse == 0)
        #expect(pool.pooled == 1)
        #expect(isOpen(first.read) && isOpen(first.write))
        #expect(!isOpen(second.read) && !isOpen(second.write))
    }

    @Test("a discarded pipe (it may hold bytes) is closed, never pooled")
    func discard() throws {
        let pool = PipePool(requestedSize: Self.size, notice: { _ in })
        let pipe = try #require(pool.take())
        pool.discard(pipe)
        #expect(pool.inUse == 0)
        #expect(pool.pooled == 0)
        #expect(!isOpen(pipe.read) && !isOpen(pipe.write))
    }

    @Test("a size the kernel refuses: the pool says so once, gives no pipe and leaks none")
    func refusedSize() {
        let notices = Mutex<[String]>([])
        // -1 reaches F_SETPIPE_SZ as 4 GiB, which the kernel refuses (EINVAL) whatever the caller's rights, as it
        // refuses a size over the per-user budget (EPERM) without CAP_SYS_RESOURCE.
        let pool = PipePool(requestedSize: -1, notice: { line in notices.withLock { $0.append(line) } })
        let before = openDescriptors()
        #expect(pool.take() == nil)
        #expect(pool.take() == nil)
        #expect(pool.exhausted)
        #expect(pool.inUse == 0)
        #expect(openDescriptors() == before)
        let logged = notices.withLock { $0 }
        #expect(logged.count == 1)
        #expect(logged.first?.contains("pipe budget spent") == true)
    }

    private func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) >= 0 }
}
