import LBEngine
import Testing

/// The 64-bit word that names a registration or an io_uring request: what goes in comes out, and the reserved
/// tokens cannot be taken for a connection's.
@Suite("event tokens")
struct EventTokenTests {
    @Test("slot, generation and side come back out, at the edges of their fields")
    func roundTrip() {
        for slot: UInt32 in [0, 1, 12_345, (1 << 24) - 1] {
            for generation: UInt32 in [0, 1, 0x4000_0000, 0x7FFF_FFFF] {
                for side in Side.allCases {
                    let token = EventToken(slot: slot, generation: generation, side: side)
                    #expect(token.slot == slot)
                    #expect(token.connectionSlot == slot)
                    #expect(token.generation == generation)
                    #expect(token.side == side)
                    #expect(token.operation == .poll, "a connection's poll carries no operation")
                    #expect(token.listenerIndex == nil)
                    #expect(EventToken(raw: token.raw) == token)
                }
            }
        }
    }

    @Test("a generation is kept to 31 bits and never spills into the side bit")
    func generationMasked() {
        let token = EventToken(slot: 7, generation: 0xFFFF_FFFF, side: .client)
        #expect(token.generation == 0x7FFF_FFFF)
        #expect(token.side == .client)
        #expect(token.raw >> 63 == 0)
    }

    @Test("generations wrap within 31 bits")
    func nextGeneration() {
        #expect(EventToken.nextGeneration(after: 0) == 1)
        #expect(EventToken.nextGeneration(after: 0x7FFF_FFFE) == 0x7FFF_FFFF)
        #expect(EventToken.nextGeneration(after: 0x7FFF_FFFF) == 0)
    }

    @Test("the operation rides in bits 24-26 of the slot field")
    func operations() {
        for operation in EventToken.Operation.allCases {
            let token = EventToken(slot: (1 << 24) - 1, generation: 99, side: .node, operation: operation)
            #expect(token.operation == operation)
            #expect(token.connectionSlot == (1 << 24) - 1)
            #expect(token.generation == 99)
            #expect(token.side == .node)
            #expect(token.listenerIndex == nil, "a request on a connection is not a listener")
            #expect(token != .wake && token != .ignored)
        }
        #expect(Set(EventToken.Operation.allCases.map(\.rawValue)) == [0, 1, 2, 3, 4], "five operations in three bits")
    }

    @Test("listener tokens name their listener; wake and ignored are neither listeners nor each other")
    func reserved() {
        for index in [0, 1, 2, 100] {
            #expect(EventToken.listener(index).listenerIndex == index)
        }
        #expect(EventToken.wake.listenerIndex == nil)
        #expect(EventToken.ignored.listenerIndex == nil)
        #expect(EventToken.wake != EventToken.ignored)
        // The largest connection token, with every operation bit set, stays below the reserved range.
        let highest = EventToken(slot: (1 << 24) - 1, generation: 0x7FFF_FFFF, side: .node, operation: .readable)
        #expect(highest.slot < EventToken.listenerBase)
    }
}
