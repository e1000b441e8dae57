@testable import LBForwarding
import Testing

/// A worker's copy buffers, carved from one allocation: each handed out once, apart from the others, and
/// reused once given back.
@Suite("buffer pool")
struct BufferPoolTests {
    @Test("hands out every buffer once, each its own bufferSize bytes, then none")
    func takeUntilEmpty() {
        let pool = BufferPool(bufferSize: 1_024, count: 4)
        var taken: [Int32] = []
        while let b = pool.take() { taken.append(b) }
        #expect(taken.sorted() == [0, 1, 2, 3])
        #expect(pool.inUse == 4)
        let addresses = taken.map { pool.address($0) }.sorted()
        for (a, b) in zip(addresses, addresses.dropFirst()) {
            #expect(b - a == 1_024, "buffers do not overlap")
        }
        // Writing the whole of each buffer leaves the others' bytes alone.
        for b in taken { pool.address(b).initializeMemory(as: UInt8.self, repeating: UInt8(b), count: 1_024) }
        for b in taken {
            let bytes = UnsafeRawBufferPointer(start: pool.address(b), count: 1_024)
            #expect(bytes.allSatisfy { $0 == UInt8(b) })
        }
    }

    @Test("a buffer given back is handed out next")
    func giveBack() throws {
        let pool = BufferPool(bufferSize: 64, count: 3)
        let first = try #require(pool.take())
        _ = try #require(pool.take())
        pool.give(first)
        #expect(pool.inUse == 1)
        #expect(pool.take() == first)
        #expect(pool.inUse == 2)
    }
}
