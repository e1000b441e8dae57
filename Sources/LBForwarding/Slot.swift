import LBBalancing
import LBEngine

/// One direction of a proxied connection (client -> node, or node -> client) and what sits in between:
/// a kernel pipe (splice) or a pooled buffer (copy), held only while bytes are in flight.
struct Direction {
    /// Pipe ends while held, else -1.
    var pipeRead: Int32 = -1
    var pipeWrite: Int32 = -1
    /// Bytes in the pipe, from splice's return values (a pipe fills by slots, and may hold more than its
    /// nominal size, so its size tells nothing).
    var inPipe: Int = 0
    /// Copy buffer index while held, else -1; bytes `[start, end)` are unwritten.
    var buffer: Int32 = -1
    var start: Int32 = 0
    var end: Int32 = 0
    /// Splice (true) or copy (false) for the next read; switches only when nothing is in flight.
    var splicing: Bool = false
    /// Bytes read since the source last ran dry (auto mode's bulk detector).
    var burst: Int = 0
    /// Ring copy: a multishot recv is armed on the source; it was cancelled because the queue is full; a send
    /// of the queue's head buffer is in flight (`start` bytes of it already sent).
    var receiving: Bool = false
    var receivePaused: Bool = false
    var sending: Bool = false
    /// Ring copy with the provided buffers out: this direction reads into a buffer of its own, one at a time
    /// (`readingOwn`: it has one in its queue; `pollingOwn`: a one-shot poll waits for the source).
    var readingOwn: Bool = false
    var pollingOwn: Bool = false
    /// Ring copy: provided buffers received and not yet sent, a queue linked through `RingCopyMover.bufferNext`.
    var head: Int32 = -1
    var tail: Int32 = -1
    var queued: Int32 = 0

    @inline(__always) var isEmpty: Bool { inPipe == 0 && start == end }
}

/// The state of one proxied connection. Lives in a preallocated `SlotTable`; reached from the epoll data
/// word by index, checked by generation.
@_spi(Benchmarks) public struct Slot {
    @_spi(Benchmarks) public var generation: UInt32 = 0
    /// Where the connection is in its life, and what happens next (`ConnectionState`).
    @_spi(Benchmarks) public var state = ConnectionState()
    @_spi(Benchmarks) public var phase: ConnectionState.Phase { state.phase }
    var service: Int32 = 0
    var node: Int32 = -1
    var tried = NodeSet()
    var client: Int32 = -1
    var server: Int32 = -1
    /// Readiness per side, set by edges and cleared by EAGAIN (edge-triggered epoll).
    var readable = PerSide(false)
    var writable = PerSide(false)
    /// The peer's FIN was reported (EPOLLRDHUP/EPOLLHUP) on this side: a short read did not drain it, the
    /// end of stream is still to be read, and no new edge will say so.
    var hungUp = PerSide(false)
    /// Client -> node.
    var up = Direction()
    /// Node -> client.
    var down = Direction()
    /// The connect deadline while connecting; the idle deadline when established (if an idle timeout is set).
    @_spi(Benchmarks) public var deadline: Int64 = 0
    /// Intrusive links of the deadline list (-1: none) and of the free list.
    var prev: Int32 = -1
    var next: Int32 = -1
    /// The deadline list the slot is on (`SlotTable.DeadlineList.id`), 0 for none.
    var deadlineList: UInt8 = 0
    /// When the client was accepted, and the bytes moved each way (for `--log-connections`).
    var acceptedAt: Int64 = 0
    var bytesUp: Int = 0
    var bytesDown: Int = 0
    /// Ring copy: requests in flight (armed multishot recvs and sends).
    var inFlight: Int16 = 0
    /// Bytes move by the ring copy mover's requests (not by direct calls on readiness).
    var ringCopy: Bool = false
    /// Auto mode: a direction carries bulk; the ring copy mover is winding down to hand the connection to
    /// splice on readiness.
    var movingToSplice: Bool = false
    /// Follows the client's HTTP requests on the mirrored P2P service (`PartyinfoMirror`); inactive elsewhere.
    var framer = HTTPFramer(active: false)

    /// The direction whose source is `side` (`.client`: client to node, `.node`: node to client).
    @inline(__always)
    subscript(source side: Side) -> Direction {
        get { side == .client ? up : down }
        set { if side == .client { up = newValue } else { down = newValue } }
    }

    /// The socket on `side`, -1 when it has none.
    @inline(__always)
    func socket(_ side: Side) -> Int32 { side == .client ? client : server }
}

/// One value for each side of a connection.
struct PerSide<Value> {
    var client: Value
    var node: Value

    @inline(__always) init(_ both: Value) {
        client = both
        node = both
    }

    @inline(__always)
    subscript(side: Side) -> Value {
        get { side == .client ? client : node }
        set { if side == .client { client = newValue } else { node = newValue } }
    }
}

extension PerSide: Equatable where Value: Equatable {}
