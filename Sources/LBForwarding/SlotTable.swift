/// The preallocated connection slots of one worker, and the deadline lists threaded through them.
///
/// One allocation at start, every slot initialized then (so about 0.33 KiB resident per slot of --max-conns
/// from the start: measured by bench/run; initializing lazily would save it). The table owns the pointer;
/// everything else reaches slots by index. `@_spi(Benchmarks)` lets bench/micro reach it; nothing else does.
@_spi(Benchmarks) public final class SlotTable {
    @_spi(Benchmarks) public let capacity: Int
    @usableFromInline let slots: UnsafeMutablePointer<Slot>
    private var freeHead: Int32 = -1
    @_spi(Benchmarks) public private(set) var inUse: Int = 0

    /// A FIFO of slots whose deadlines were all set with the same timeout, so the head expires first.
    @_spi(Benchmarks) public struct DeadlineList {
        @_spi(Benchmarks) public var head: Int32 = -1
        @_spi(Benchmarks) public var tail: Int32 = -1
        /// Which list this is, as a slot on it records (`Slot.deadlineList`): unlinking a slot from a list it is
        /// not on must leave both lists alone.
        let id: UInt8
        @_spi(Benchmarks) public var isEmpty: Bool { head < 0 }
    }

    @_spi(Benchmarks) public var connecting = DeadlineList(id: 1)
    @_spi(Benchmarks) public var idle = DeadlineList(id: 2)

    @_spi(Benchmarks) public init(capacity: Int) {
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(), count: capacity)
        // Free list in index order, so low slots (already touched pages) are reused first.
        for i in stride(from: capacity - 1, through: 0, by: -1) {
            slots[i].next = freeHead
            freeHead = Int32(i)
        }
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// Direct access to a slot; the index must come from `allocate` or a checked token.
    // Inlinable so that bench/micro inlines it as the workers do: called instead, the `_read` coroutine copies
    // the Slot into a frame it allocates (153 bytes, one malloc per read; seen with bench/micro/run).
    @inlinable @inline(__always)
    @_spi(Benchmarks) public subscript(_ i: Int32) -> Slot {
        _read { yield slots[Int(i)] }
        _modify { yield &slots[Int(i)] }
    }

    /// Takes a free slot; nil when all are in use.
    @inline(__always)
    @_spi(Benchmarks) public func allocate() -> Int32? {
        let i = freeHead
        guard i >= 0 else { return nil }
        freeHead = slots[Int(i)].next
        let generation = slots[Int(i)].generation
        slots[Int(i)] = Slot()
        slots[Int(i)].generation = generation
        inUse += 1
        return i
    }

    /// Returns a slot; its generation moves on so queued events for it are recognised as stale.
    @inline(__always)
    @_spi(Benchmarks) public func release(_ i: Int32) {
        slots[Int(i)].state = ConnectionState()
        slots[Int(i)].generation = nextGeneration(slots[Int(i)].generation)
        slots[Int(i)].next = freeHead
        freeHead = i
        inUse -= 1
    }

    /// Moves a slot in use to a new generation (its sockets are re-registered under the new one).
    func renew(_ i: Int32) {
        slots[Int(i)].generation = nextGeneration(slots[Int(i)].generation)
    }

    @inline(__always)
    private func nextGeneration(_ g: UInt32) -> UInt32 { (g &+ 1) & 0x7FFF_FFFF }

    // MARK: - Deadline lists

    /// Links a slot that is on no list at the tail.
    @inline(__always)
    @_spi(Benchmarks) public func append(_ i: Int32, to list: inout DeadlineList) {
        assert(slots[Int(i)].deadlineList == 0, "slot \(i) is already on list \(slots[Int(i)].deadlineList)")
        slots[Int(i)].prev = list.tail
        slots[Int(i)].next = -1
        slots[Int(i)].deadlineList = list.id
        if list.tail >= 0 { slots[Int(list.tail)].next = i } else { list.head = i }
        list.tail = i
    }

    /// Unlinks a slot if it is on `list`; otherwise nothing changes.
    @inline(__always)
    @_spi(Benchmarks) public func unlink(_ i: Int32, from list: inout DeadlineList) {
        guard slots[Int(i)].deadlineList == list.id else { return }
        let prev = slots[Int(i)].prev
        let next = slots[Int(i)].next
        if prev >= 0 { slots[Int(prev)].next = next } else { list.head = next }
        if next >= 0 { slots[Int(next)].prev = prev } else { list.tail = prev }
        slots[Int(i)].prev = -1
        slots[Int(i)].next = -1
        slots[Int(i)].deadlineList = 0
    }

    /// Moves a slot on `list` to its tail (its deadline was pushed back by the same timeout as everyone else's).
    @inline(__always)
    @_spi(Benchmarks) public func touch(_ i: Int32, in list: inout DeadlineList) {
        guard list.tail != i, slots[Int(i)].deadlineList == list.id else { return }
        unlink(i, from: &list)
        append(i, to: &list)
    }
}
