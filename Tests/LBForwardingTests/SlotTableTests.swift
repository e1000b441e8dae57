@_spi(Benchmarks) @testable import LBForwarding
import LBEngine
import Testing

/// The preallocated slots of one worker: the free list, generations, and the deadline lists threaded through
/// the slots.
@Suite("slot table")
struct SlotTableTests {
    @Test("allocates low slots first, each once, until full; counts them in use")
    func allocateUntilFull() {
        let table = SlotTable(capacity: 4)
        var taken: [Int32] = []
        while let i = table.allocate() { taken.append(i) }
        #expect(taken == [0, 1, 2, 3])
        #expect(table.inUse == 4)
        #expect(table.allocate() == nil)
        table.release(2)
        #expect(table.inUse == 3)
        #expect(table.allocate() == 2, "the slot just released is the one free")
        #expect(table.inUse == 4)
    }

    @Test("release moves the generation on; the next allocation of the slot starts clean")
    func releaseRenewsGeneration() throws {
        let table = SlotTable(capacity: 2)
        let i = try #require(table.allocate())
        let before = table[i].generation
        _ = table[i].state.handle(.accepted)
        _ = table[i].state.handle(.connected)
        #expect(table[i].phase == .forwarding)
        table[i].client = 10
        table[i].server = 11
        table[i].up.buffer = 3
        table[i].bytesUp = 500
        table.release(i)
        #expect(table[i].phase == .free)
        #expect(table[i].generation == EventToken.nextGeneration(after: before))
        let again = try #require(table.allocate())
        #expect(again == i)
        #expect(table[again].generation == EventToken.nextGeneration(after: before), "allocation keeps the generation")
        #expect(table[again].client == -1 && table[again].server == -1)
        #expect(table[again].up.buffer == -1 && table[again].bytesUp == 0)
        #expect(table[again].deadlineList == 0)
    }

    @Test("generations wrap within 31 bits, as tokens carry them")
    func generationWraps() throws {
        let table = SlotTable(capacity: 1)
        let i = try #require(table.allocate())
        table[i].generation = 0x7FFF_FFFF
        table.renew(i)
        #expect(table[i].generation == 0)
        table[i].generation = 0x7FFF_FFFF
        table.release(i)
        #expect(table[i].generation == 0)
    }

    @Test("a deadline list keeps slots in the order they were appended")
    func appendOrder() {
        let table = SlotTable(capacity: 8)
        for _ in 0..<8 { _ = table.allocate() }
        for i: Int32 in [5, 1, 7] { table.append(i, to: &table.connecting) }
        #expect(order(table, table.connecting) == [5, 1, 7])
        #expect(table.connecting.head == 5 && table.connecting.tail == 7)
    }

    @Test("unlink takes a slot from the head, middle or tail")
    func unlinkAnywhere() {
        let table = SlotTable(capacity: 8)
        for _ in 0..<8 { _ = table.allocate() }
        for i: Int32 in 0..<5 { table.append(i, to: &table.idle) }
        table.unlink(2, from: &table.idle)
        #expect(order(table, table.idle) == [0, 1, 3, 4])
        table.unlink(0, from: &table.idle)
        #expect(order(table, table.idle) == [1, 3, 4])
        table.unlink(4, from: &table.idle)
        #expect(order(table, table.idle) == [1, 3])
        table.unlink(1, from: &table.idle)
        table.unlink(3, from: &table.idle)
        #expect(table.idle.isEmpty)
        #expect(table.idle.tail == -1)
        table.append(6, to: &table.idle)
        #expect(order(table, table.idle) == [6], "an emptied list takes slots again")
    }

    @Test("unlinking a slot from a list it is not on leaves both lists alone")
    func unlinkFromOtherList() {
        let table = SlotTable(capacity: 4)
        for _ in 0..<4 { _ = table.allocate() }
        table.append(0, to: &table.connecting)
        table.append(1, to: &table.idle)
        table.append(2, to: &table.idle)
        table.unlink(1, from: &table.connecting)
        table.unlink(0, from: &table.idle)
        table.unlink(3, from: &table.idle)
        #expect(order(table, table.connecting) == [0])
        #expect(order(table, table.idle) == [1, 2])
        #expect(table[1].deadlineList == table.idle.id)
    }

    @Test("touch moves a slot to the tail; at the tail, or on another list, it changes nothing")
    func touch() {
        let table = SlotTable(capacity: 4)
        for _ in 0..<4 { _ = table.allocate() }
        for i: Int32 in 0..<3 { table.append(i, to: &table.idle) }
        table.touch(0, in: &table.idle)
        #expect(order(table, table.idle) == [1, 2, 0])
        table.touch(0, in: &table.idle)
        #expect(order(table, table.idle) == [1, 2, 0])
        table.append(3, to: &table.connecting)
        table.touch(3, in: &table.idle)
        #expect(order(table, table.idle) == [1, 2, 0])
        #expect(order(table, table.connecting) == [3])
    }

    @Test("a direction is reached by its source side: the client's is up, the node's down; sockets by side")
    func directionBySide() {
        var slot = Slot()
        slot[source: .client].burst = 1
        slot[source: .node].burst = 2
        #expect(slot.up.burst == 1 && slot.down.burst == 2)
        slot.client = 5
        slot.server = 6
        #expect(slot.socket(.client) == 5 && slot.socket(.node) == 6)
        #expect(slot.socket(Side.client.other) == 6 && slot.socket(Side.node.other) == 5)
        slot.readable[.node] = true
        #expect(slot.readable.node && !slot.readable.client)
    }

    /// The list's slots head to tail, checking the back links on the way.
    private func order(_ table: SlotTable, _ list: SlotTable.DeadlineList) -> [Int32] {
        var result: [Int32] = []
        var i = list.head
        var previous: Int32 = -1
        while i >= 0 && result.count <= table.capacity {
            #expect(table[i].prev == previous, "slot \(i)'s back link")
            #expect(table[i].deadlineList == list.id)
            result.append(i)
            previous = i
            i = table[i].next
        }
        #expect(list.tail == previous)
        return result
    }
}
