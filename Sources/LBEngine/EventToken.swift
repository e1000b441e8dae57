/// What the kernel hands back with each event: a 64-bit word naming the registration.
///
/// Connection sockets carry their slot index, the slot's generation and which side they are; a descriptor
/// closed and reused by a new connection gets a new generation, so an event still queued for its
/// predecessor is recognised as stale and dropped. Listeners and the wake-up descriptor use reserved indices.
///
/// Layout: bits 0-31 slot index, bits 32-62 generation, bit 63 side (0 client, 1 node).
@frozen
public struct EventToken: Equatable, Sendable {
    public let raw: UInt64

    @inline(__always) public init(raw: UInt64) { self.raw = raw }

    @inline(__always)
    public init(slot: UInt32, generation: UInt32, side: Int) {
        raw = UInt64(slot) | (UInt64(generation & 0x7FFF_FFFF) << 32) | (UInt64(side & 1) << 63)
    }

    @inline(__always) public var slot: UInt32 { UInt32(truncatingIfNeeded: raw) }
    @inline(__always) public var generation: UInt32 { UInt32(truncatingIfNeeded: raw >> 32) & 0x7FFF_FFFF }
    @inline(__always) public var side: Int { Int(raw >> 63) }

    /// The token of the worker's wake-up eventfd.
    public static let wake = EventToken(slot: UInt32.max, generation: 0, side: 0)
    /// The token of requests whose completions need no handling (io_uring's poll removals and cancellations).
    public static let ignored = EventToken(slot: UInt32.max - 1, generation: 0, side: 0)
    /// Listener tokens: reserved slot indices from `listenerBase` up.
    public static let listenerBase: UInt32 = 0xFFFF_0000

    public static func listener(_ index: Int) -> EventToken {
        EventToken(slot: listenerBase + UInt32(index), generation: 0, side: 0)
    }

    /// The listener index, if this token names a listener.
    @inline(__always)
    public var listenerIndex: Int? {
        slot >= Self.listenerBase && slot < UInt32.max - 1 ? Int(slot - Self.listenerBase) : nil
    }

    /// io_uring requests on a connection other than its poll carry which one in bits 24-25 of the slot field
    /// (slot indices stay below 2^24).
    public static let receive: UInt32 = 1
    public static let send: UInt32 = 2
    /// A one-shot poll for a direction that reads into a buffer of its own while the provided buffers are out.
    public static let readable: UInt32 = 3

    @inline(__always)
    public init(slot: UInt32, generation: UInt32, side: Int, operation: UInt32) {
        self.init(slot: slot | operation << 24, generation: generation, side: side)
    }

    /// The operation bits of a connection token (0: its poll).
    @inline(__always) public var operation: UInt32 { (slot >> 24) & 3 }
    /// The slot index of a connection token, without the operation bits.
    @inline(__always) public var connectionSlot: UInt32 { slot & 0x00FF_FFFF }

    /// Generations wrap within 31 bits.
    @inline(__always)
    public static func nextGeneration(after g: UInt32) -> UInt32 { (g &+ 1) & 0x7FFF_FFFF }
}
