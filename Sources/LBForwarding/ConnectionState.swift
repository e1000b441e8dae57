import LBEngine

/// The life of one proxied connection, from its accept to the release of its slot, as a value: the worker
/// tells it what happened (`handle(_:)`) and does what it answers. The byte movers (`ReadinessPump`,
/// `RingCopyMover`, behind `ByteMover`) move bytes and report ends of stream and deliveries; what follows (the next node, a FIN
/// passed on, a close, the slot's release) is decided only here.
///
///     free --accepted--> connecting --connected--> forwarding --both ways shut--> (closed)
///                          |  ^ connectFailed (next node)  | endOfStream / delivered per way
///                          +--noNode / cut / failed--------+--cut / failed--> (closed)
///     (closed) --socketsClosed, requests in flight--> closing --requestsDone--> free
///     (closed) --socketsClosed, nothing in flight--> free
///
/// Transitions are unit-tested without sockets (ConnectionStateTests).
@_spi(Benchmarks) public struct ConnectionState: Equatable {
    @_spi(Benchmarks) public enum Phase: UInt8 {
        case free
        /// Waiting for the node connection; the client's bytes are not read yet, so a failed connect can be
        /// retried on the next node with nothing lost.
        case connecting
        /// Bytes move both ways; each way ends on its own (half-close).
        case forwarding
        /// Closed, its sockets too, but io_uring requests of the ring copy mover are still in flight: the slot
        /// (and the buffers the requests use) is released when the last one completes.
        case closing
    }

    /// What happened to the connection.
    enum Event: Equatable {
        /// A client was accepted into this slot.
        case accepted
        /// The node connection was refused or timed out: another node may be tried.
        case connectFailed
        /// No node is left to try.
        case noNode
        /// The node connection is established.
        case connected
        /// `side` sent its FIN (a read returned end of stream).
        case endOfStream(from: Side)
        /// Everything `side` sent so far has been written to the other side.
        case delivered(from: Side)
        /// A socket failed (reset, broken pipe, an error event): both sides are reset.
        case failed
        /// The balancer ends the connection (idle timeout, node marked down, connect timeout, stop); `reset`
        /// asks for a reset instead of a FIN.
        case cut(reset: Bool)
        /// Both sockets are closed; `requestsInFlight`: the ring still holds requests that name the slot.
        case socketsClosed(requestsInFlight: Bool)
        /// The last request in flight completed.
        case requestsDone
    }

    /// What the worker does next.
    enum Action: Equatable {
        case none
        /// Pick a node not yet tried and connect to it.
        case connect
        /// Start moving bytes both ways.
        case forward
        /// Pass the FIN on: shut the writing side of the socket on `toward`.
        case shutdownWrite(toward: Side)
        /// Close both sockets (with a reset when `reset`), return what the connection holds.
        case close(reset: Bool)
        /// Free the slot.
        case release
    }

    @_spi(Benchmarks) public private(set) var phase: Phase = .free
    /// Per source side: its FIN was read.
    private var ended = PerSide(false)
    /// Per source side: its FIN was passed on to the other side (the way from it is done).
    private var shut = PerSide(false)
    /// Whether `close` was asked for and the sockets are not closed yet.
    private var closeAsked = false

    @_spi(Benchmarks) public init() {}

    /// Whether `side` has sent its FIN.
    @inline(__always) func hasEnded(from side: Side) -> Bool { ended[side] }
    /// Whether the way from `side` is done: its FIN was read and passed on.
    @inline(__always) func isShut(from side: Side) -> Bool { shut[side] }
    /// Both ways done: the connection ended cleanly, nothing was cut.
    @inline(__always) var bothWaysShut: Bool { shut.client && shut.node }

    /// Takes `event` and answers what to do. An event that does not apply in the current phase (a late
    /// completion, a second report) answers `.none` and changes nothing.
    @inline(__always)
    mutating func handle(_ event: Event) -> Action {
        switch (phase, event) {
        case (.free, .accepted):
            self = ConnectionState()
            phase = .connecting
            return .connect
        case (.connecting, .connectFailed):
            return .connect
        case (.connecting, .connected):
            phase = .forwarding
            return .forward
        case (.connecting, .noNode):
            return askClose(reset: false)
        case (.forwarding, .endOfStream(let side)):
            ended[side] = true
            return .none
        case (.forwarding, .delivered(let side)):
            guard ended[side], !shut[side] else { return .none }
            shut[side] = true
            return .shutdownWrite(toward: side.other)
        case (.connecting, .failed), (.forwarding, .failed):
            return askClose(reset: true)
        case (.connecting, .cut(let reset)), (.forwarding, .cut(let reset)):
            return askClose(reset: reset)
        case (.connecting, .socketsClosed(let inFlight)), (.forwarding, .socketsClosed(let inFlight)):
            guard closeAsked else { return .none }
            closeAsked = false
            if inFlight {
                phase = .closing
                return .none
            }
            phase = .free
            return .release
        case (.closing, .requestsDone):
            phase = .free
            return .release
        default:
            return .none
        }
    }

    /// After a shutdown: both ways are done, so the connection closes (with FINs: nothing was cut).
    @inline(__always)
    mutating func closeIfBothWaysShut() -> Action {
        guard phase == .forwarding, bothWaysShut, !closeAsked else { return .none }
        return askClose(reset: false)
    }

    @inline(__always)
    private mutating func askClose(reset: Bool) -> Action {
        guard !closeAsked else { return .none }
        closeAsked = true
        return .close(reset: reset)
    }
}
