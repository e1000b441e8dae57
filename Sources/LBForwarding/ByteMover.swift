import LBEngine

/// How a forwarding connection's bytes move, once its node has answered. There are two:
///
/// - `ReadinessPump`: read/write (or splice through a pipe) as far as the sockets allow, each time epoll or an
///   io_uring poll says a socket is ready. The epoll engine, io_uring in splice mode, and bulk connections of
///   io_uring's auto mode.
/// - `RingCopyMover`: io_uring recv requests into provided buffers and send requests out of them; no system
///   call of its own per message. io_uring in copy and auto mode. In auto mode a connection that turns out to
///   carry bulk is handed to the pump (`RingCopyMover.moveToSpliceIfIdle`), the one move between movers.
///
/// The worker picks a connection's mover when its node connects (`Worker.startForwarding`), gives it that
/// connection's events, and tells it when the connection closes. Everything else (accept, connect, retries,
/// limits, deadlines, close) is the worker's, and what a mover sees (an end of stream, a failure, all bytes
/// delivered) goes back to the connection's state through `Worker.advance`: a mover never closes a socket.
protocol ByteMover: AnyObject {
    associatedtype Events: EventSource

    /// The connection's node is connected: start moving bytes.
    func begin(_ i: Int32, in worker: Worker<Events>)
    /// An event of the connection's: for the pump, readiness of the socket on `side` (`result` is the poll or
    /// epoll mask); for the ring copy mover, the completion of one of its requests.
    func handle(_ i: Int32, side: Side, operation: EventToken.Operation, result: Int32, flags: UInt32, in worker: Worker<Events>)
    /// Once per loop turn, after its events: what was put off (a fair share used up, a buffer to wait for).
    func endTurn(in worker: Worker<Events>)
    /// The connection is closing: stop what is in flight and give back what it holds.
    func end(_ i: Int32, in worker: Worker<Events>)
}
