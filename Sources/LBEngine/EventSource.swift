public import LBSystem

/// What a worker's loop waits on, and how its sockets are watched: the one thing that differs between the
/// engines. The worker's connection logic (accept, connect, pump, close) is written once, over this.
///
/// - `EpollEvents`: edge-triggered epoll. Listener events say "readable" and the worker calls accept4 until
///   EAGAIN; closing a socket is all it takes to stop watching it.
/// - `RingEvents`: io_uring. A few one-shot accepts per listener hand over each accepted socket; a multishot poll
///   per socket reports readiness (like an edge-triggered epoll registration, one completion per wake-up);
///   one io_uring_enter per loop turn submits everything queued and waits. A poll holds a reference to its
///   socket, so a socket is unwatched (its poll cancelled) when it is closed.
///
/// Events reach the worker as `(token, result, flags)`: `result` is the readiness mask (epoll and poll bits
/// have the same values), or for `deliversAcceptedSockets` listeners the accepted socket or -errno; a
/// negative result on a connection token is a poll that ended with an error. `flags` are io_uring's
/// completion flags: without `IoUring.more` a multishot request (a poll) ended, so the worker re-arms what it still
/// wants watched (epoll's events always say `more`). Tokens with an operation other than `.poll`
/// (`EventToken.Operation`: `.receive`, `.send`, `.readable`) are the ring copy mover's requests
/// (`RingCopyMover`, on `requestRing`).
public protocol EventSource: AnyObject {
    /// True when listener events carry accepted sockets; false when the worker accepts itself.
    static var deliversAcceptedSockets: Bool { get }
    /// The ring the ring copy mover can submit its requests to (io_uring), nil when there is none (epoll).
    var requestRing: IoUring? { get }

    /// Runs on the worker's own thread before its first wait.
    func begin()
    /// Watches the wake-up eventfd (token `.wake`).
    func watchWake(_ fd: Int32) throws(SystemError)
    /// Watches a connection socket for readability, writability and hang-ups.
    func watch(_ fd: Int32, token: EventToken) throws(SystemError)
    /// Stops watching a socket that is about to be closed.
    func unwatch(_ fd: Int32, token: EventToken)
    /// Runs before the sockets of a connection moved by the ring copy mover are closed. With io_uring, what is
    /// queued goes to the kernel now: a recv or send queued this turn may name a socket about to close, and
    /// once its number is free any new descriptor may take it (a node socket, a pipe, or a client the multishot
    /// accept takes in the task work that runs on the way back from any system call), and the request,
    /// submitted later, would move bytes on that connection.
    func submitBeforeClosing()
    /// Re-labels a watched socket with a new token (its slot's generation moved on).
    func rewatch(_ fd: Int32, from old: EventToken, to new: EventToken) throws(SystemError)
    /// Starts watching (or accepting on) a listener.
    func addListener(_ fd: Int32, index: Int) throws(SystemError)
    /// Stops for good: the listener is about to be closed or handed over.
    func removeListener(_ fd: Int32, index: Int)
    /// Pauses accepting on a listener (connection limit, descriptors exhausted); the worker resumes it.
    func pauseListener(_ fd: Int32, index: Int)
    func resumeListener(_ fd: Int32, index: Int)
    /// Whether accepts asked for may still deliver sockets (io_uring: requests in flight, also on listeners
    /// removed a moment ago, until their completions are in). Epoll: never, the worker accepts itself.
    var acceptsPending: Bool { get }
    /// Submits what is queued, waits up to `timeoutMilliseconds` (-1: no limit, 0: not at all), then calls
    /// `body` for each event. Returns how many there were.
    func wait(timeoutMilliseconds: Int32, _ body: (EventToken, Int32, UInt32) -> Void) -> Int
}
