import Benchmark
import LBEngine
@_spi(Benchmarks) import LBForwarding

/// A table of the default --max-conns (16,384 slots) with 10,000 connections in it, in allocation order.
private func busyTable() -> (table: SlotTable, inUse: [Int32]) {
    let table = SlotTable(capacity: 16_384)
    var inUse: [Int32] = []
    inUse.reserveCapacity(10_000)
    for _ in 0..<10_000 {
        guard let i = table.allocate() else { fatalError("a 16,384-slot table ran out at \(inUse.count)") }
        table[i].phase = .established
        inUse.append(i)
    }
    return (table, inUse)
}

/// SlotTable: taking and returning a slot per connection, and finding the slot an epoll event names.
func slotTableBenchmarks() {
    do {
        let (table, inUse) = busyTable()
        var slots = inUse
        var oldest = 0
        Benchmark("slot release + allocate (16,384 slots, 10k in use)") { benchmark in
            var cursor = oldest
            for _ in benchmark.scaledIterations {
                // A connection closes and a new one arrives: the free list hands back the slot just released.
                table.release(slots[cursor])
                guard let i = table.allocate() else { fatalError("no free slot") }
                table[i].phase = .established
                slots[cursor] = i
                cursor += 1
                if cursor == slots.count { cursor = 0 }
            }
            oldest = cursor
            blackHole(table.inUse)
        }
    }
    do {
        // The tokens epoll hands back for 10k open connections, in a scrambled order; one in eight carries
        // the generation before the slot's current one: an event queued for a connection that has since closed.
        let (table, inUse) = busyTable()
        for i in inUse where i % 2 == 0 {
            table.release(i)
            _ = table.allocate()
            table[i].phase = .established
        }
        let tokens = Scramble.permutation(inUse.count, seed: 4).enumerated().map { k, n in
            let i = inUse[n]
            let stale: UInt32 = k % 8 == 0 ? 1 : 0
            return EventToken(slot: UInt32(i), generation: table[i].generation &- stale, side: k & 1 == 0 ? .client : .node)
        }
        var next = 0
        Benchmark("slot lookup by EventToken, generation-checked (10k in use, 1 in 8 stale)") { benchmark in
            var live = 0
            var k = next
            for _ in benchmark.scaledIterations {
                let token = tokens[k]
                k += 1
                if k == tokens.count { k = 0 }
                // The check of Worker.handle(events:token:).
                let i = Int32(bitPattern: token.slot)
                if i >= 0, Int(i) < table.capacity, table[i].phase != .free, table[i].generation == token.generation {
                    live &+= Int(i) | 1
                }
            }
            next = k
            blackHole(live)
        }
    }
}

/// The deadline lists threaded through the slots (connect and idle timeouts): what a worker does to them per
/// connection and per turn of its loop, with 10,000 slots listed.
func deadlineListBenchmarks() {
    let timeout: Int64 = 10_000
    do {
        let (table, inUse) = busyTable()
        for (k, i) in inUse.enumerated() {
            table[i].deadline = Int64(k)
            table.append(i, to: &table.connecting)
        }
        let order = Scramble.permutation(inUse.count, seed: 1).map { inUse[$0] }
        var next = 0
        Benchmark("deadline unlink + append (connecting list, 10k listed)") { benchmark in
            var k = next
            for _ in benchmark.scaledIterations {
                // One connect completes (anywhere in the list), a new one starts on the same slot.
                let i = order[k]
                table.unlink(i, from: &table.connecting)
                table[i].deadline += timeout
                table.append(i, to: &table.connecting)
                k += 1
                if k == order.count { k = 0 }
            }
            next = k
            blackHole(table.connecting.head)
        }
    }
    do {
        let (table, inUse) = busyTable()
        for (k, i) in inUse.enumerated() {
            table[i].deadline = Int64(k)
            table.append(i, to: &table.idle)
        }
        let order = Scramble.permutation(inUse.count, seed: 2).map { inUse[$0] }
        var next = 0
        var now = Int64(inUse.count)
        Benchmark("deadline touch (idle list, 10k listed)") { benchmark in
            var k = next
            for _ in benchmark.scaledIterations {
                // Bytes moved on one connection: its idle deadline moves to the back.
                let i = order[k]
                now += 1
                table[i].deadline = now + timeout
                table.touch(i, in: &table.idle)
                k += 1
                if k == order.count { k = 0 }
            }
            next = k
            blackHole(table.idle.tail)
        }
    }
    do {
        let (table, inUse) = busyTable()
        for (k, i) in inUse.enumerated() {
            table[i].deadline = Int64(k)
            table.append(i, to: &table.idle)
        }
        var now: Int64 = -1
        Benchmark("deadline expire head + re-arm (idle list, 10k listed)") { benchmark in
            var expired = 0
            for _ in benchmark.scaledIterations {
                // One millisecond later the head is due (Worker.expireDeadlines); its slot goes to a new
                // connection, listed at the back.
                now += 1
                while !table.idle.isEmpty, table[table.idle.head].deadline <= now {
                    let i = table.idle.head
                    table.unlink(i, from: &table.idle)
                    table[i].deadline = now + Int64(inUse.count)
                    table.append(i, to: &table.idle)
                    expired += 1
                }
            }
            blackHole(expired)
        }
    }
}
