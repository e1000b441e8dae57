@testable import LBForwarding
import Synchronization
import Testing

/// One worker's ring of connection records on their way to the log thread: in order, never blocking the
/// writer, a full ring drops and counts.
@Suite("connection log ring")
struct ConnectionLogRingTests {
    private func record(_ n: Int) -> ConnectionRecord {
        var r = ConnectionRecord()
        r.service = Int32(n % 3)
        r.node = Int32(n % 2)
        r.bytesUp = n
        r.bytesDown = 2 * n
        r.durationMs = Int64(n)
        r.ending = n % 2 == 0 ? .closed : .reset
        return r
    }

    private func drained(_ ring: ConnectionLogRing) -> [ConnectionRecord] {
        var out: [ConnectionRecord] = []
        ring.drain { out.append($0) }
        return out
    }

    @Test("records come out oldest first, each once")
    func inOrder() {
        let ring = ConnectionLogRing(capacity: 8)
        for n in 0..<5 { ring.push(record(n)) }
        let out = drained(ring)
        #expect(out.map(\.bytesUp) == [0, 1, 2, 3, 4])
        #expect(out.map(\.bytesDown) == [0, 2, 4, 6, 8])
        #expect(out.map(\.ending) == [.closed, .reset, .closed, .reset, .closed])
        #expect(drained(ring).isEmpty, "a drained record is not read again")
        #expect(ring.dropped.load(ordering: .relaxed) == 0)
    }

    @Test("a full ring drops what does not fit and counts it; drained, it takes records again, across the wrap")
    func fullRingDrops() {
        let ring = ConnectionLogRing(capacity: 4)
        for n in 0..<6 { ring.push(record(n)) }
        #expect(ring.dropped.load(ordering: .relaxed) == 2)
        #expect(drained(ring).map(\.bytesUp) == [0, 1, 2, 3], "the oldest are kept, the newest dropped")
        for n in 10..<13 { ring.push(record(n)) }
        #expect(drained(ring).map(\.bytesUp) == [10, 11, 12])
        for n in 20..<24 { ring.push(record(n)) }
        #expect(drained(ring).map(\.bytesUp) == [20, 21, 22, 23])
        #expect(ring.dropped.load(ordering: .relaxed) == 2)
    }

    @Test("one writer and one reader on two threads: every record is read once, in order, or counted dropped")
    func concurrentWriterAndReader() async {
        let ring = ConnectionLogRing(capacity: 64)
        let done = DoneFlag()
        let total = 200_000
        let writer = Task.detached {
            for n in 0..<total { ring.push(ConnectionRecord.numbered(n)) }
            done.flag.store(true, ordering: .releasing)
        }
        var seen: [Int] = []
        seen.reserveCapacity(total)
        // Bounded: the writer ends after `total` pushes whatever the reader does.
        while !done.flag.load(ordering: .acquiring) {
            ring.drain { seen.append($0.bytesUp) }
            await Task.yield()
        }
        await writer.value
        ring.drain { seen.append($0.bytesUp) }
        let dropped = ring.dropped.load(ordering: .relaxed)
        #expect(seen.count + dropped == total)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 < $1 }, "oldest first, none twice")
        #expect(seen.first == 0, "the first record found an empty ring")
    }
}

private final class DoneFlag: Sendable {
    let flag = Atomic<Bool>(false)
}

extension ConnectionRecord {
    fileprivate static func numbered(_ n: Int) -> ConnectionRecord {
        var r = ConnectionRecord()
        r.bytesUp = n
        return r
    }
}
