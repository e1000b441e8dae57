/// What the kernel hands back with each event: a 64-bit word naming the registration.
///
/// Connection sockets carry their slot index, the slot's generation and which side they are; a descriptor
/// closed and reused by a new connection gets a new generation, so an event still queued for its
/// predecessor is recognised as stale and dropped. Listeners and the wake-up descriptor use reserved indices.
///
/// Layout: bits 0-31 slot field (for a connection: bits 0-23 the slot index, bits 24-26 the `Operation`),
/// bits 32-62 generation, bit 63 `Side`.
@frozen
public struct EventToken: Equatable, Sendable {
    /// Which request on a connection a token names: its socket's poll (or epoll registration), or one of the
    /// ring copy mover's io_uring requests.
    @frozen
    public enum Operation: UInt32, Sendable, CaseIterable {
        case poll = 0
        /// The direction's multishot recv into the provided buffers.
        case receive = 1
        /// The send of the direction's head buffer.
        case send = 2
        /// A one-shot poll for a direction that reads into a buffer of its own while the provided buffers are out.
        case readable = 3
        /// The node socket's connect (IORING_OP_CONNECT, `RingSocketCalls`).
        case connect = 4
    }

    public let raw: UInt64

    @inline(__always) public init(raw: UInt64) { self.raw = raw }

    @inline(__always)
    public init(slot: UInt32, generation: UInt32, side: Side) {
        raw = UInt64(slot) | (UInt64(generation & 0x7FFF_FFFF) << 32) | (UInt64(side.rawValue) << 63)
    }

    @inline(__always) public var slot: UInt32 { UInt32(truncatingIfNeeded: raw) }
    @inline(__always) public var generation: UInt32 { UInt32(truncatingIfNeeded: raw >> 32) & 0x7FFF_FFFF }
    @inline(__always) public var side: Side { raw >> 63 == 0 ? .client : .node }

    /// The token of the worker's wake-up eventfd.
    public static let wake = EventToken(slot: UInt32.max, generation: 0, side: .client)
    /// The token of requests whose completions need no handling (io_uring's cancellations).
    public static let ignored = EventToken(slot: UInt32.max - 1, generation: 0, side: .client)
    /// Listener tokens: reserved slot indices from `listenerBase` up.
    public static let listenerBase: UInt32 = 0xFFFF_0000

    public static func listener(_ index: Int) -> EventToken {
        EventToken(slot: listenerBase + UInt32(index), generation: 0, side: .client)
    }

    /// The listener index, if this token names a listener.
    @inline(__always)
    public var listenerIndex: Int? {
        slot >= Self.listenerBase && slot < UInt32.max - 1 ? Int(slot - Self.listenerBase) : nil
    }

    /// io_uring requests on a connection other than its poll carry which one in bits 24-26 of the slot field
    /// (slot indices stay below 2^24).
    @inline(__always)
    public init(slot: UInt32, generation: UInt32, side: Side, operation: Operation) {
        self.init(slot: slot | operation.rawValue << 24, generation: generation, side: side)
    }

    /// The request a connection token names (`.poll` for its socket's poll).
    @inline(__always) public var operation: Operation {
        switch (slot >> 24) & 7 {
        case 0: .poll
        case 1: .receive
        case 2: .send
        case 3: .readable
        default: .connect
        }
    }

    /// The slot index of a connection token, without the operation bits.
    @inline(__always) public var connectionSlot: UInt32 { slot & 0x00FF_FFFF }

    /// Generations wrap within 31 bits.
    @inline(__always)
    public static func nextGeneration(after g: UInt32) -> UInt32 { (g &+ 1) & 0x7FFF_FFFF }
}

/// Which socket of a proxied connection: the client's or the node's. A direction is named by its source side
/// (`.client`: client to node, "up"; `.node`: node to client, "down").
@frozen
public enum Side: UInt8, Sendable, CaseIterable {
    case client = 0
    case node = 1

    /// The socket at the other end of the connection.
    @inline(__always) public var other: Side { self == .client ? .node : .client }
}
