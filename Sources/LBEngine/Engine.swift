/// A forwarding engine: N worker threads that accept, balance and move bytes. `ForwardingEngine`
/// (LBForwarding) is the one implementation, with either event source (epoll or io_uring, `--engine`); the
/// balancer (TesseraLB) sees only this protocol.
///
/// An engine runs one configuration (one `ForwardingPlan`) from `start` to `stop`. A reload does not change an
/// engine: it starts a new one beside it (a generation, as nginx starts new workers), and the two pass the
/// listening sockets between them so that no listen address that stays ever closes:
///
/// ```
/// let listeners = old.handOverListeners()      // duplicates of old's listening sockets; old still accepts
/// try new.start(adopting: listeners)           // new accepts on the same sockets (opens only what is new)
/// listeners.close()                            // the sockets of removed services (their ports close)
/// old.stopAccepting()                          // old closes its descriptors; the sockets stay open in new
/// ... old drains its open connections, then old.stop()
/// ```
///
/// If `start(adopting:)` throws, the new engine has closed what it took; `listeners.close(removingSocketFiles:
/// false)` closes the rest (leaving the unix sockets' files the old engine still serves on) and the old engine
/// goes on as if nothing happened.
public protocol Engine: AnyObject, Sendable {
    /// A short name for logs (`epoll`, `io_uring`).
    var name: String { get }
    /// Opens the listeners and starts the workers, taking each service's listening sockets from `listeners`
    /// where it has them (`ListenerSet.take(address:name:)`, by the service's configured address and name) and
    /// opening the others. Adopted sockets are accepted on as they are: connections already waiting in their
    /// queues are accepted by this engine. If `listeners` holds fewer sockets for a service than this engine has
    /// workers, it opens more on the same bound port; more than it has workers, it closes the surplus (whose
    /// queued connections the kernel resets; the balancer keeps the worker count on reload for that reason).
    ///
    /// Leaves in `listeners` what it did not take. Call once.
    ///
    /// - Throws: if a listener cannot be opened; then every descriptor taken from `listeners` is closed and no
    ///   worker runs.
    func start(adopting listeners: ListenerSet?) throws
    /// Duplicates of this engine's listening sockets, for the next engine's `start(adopting:)`. This engine goes
    /// on accepting on its own descriptors until `stopAccepting()`. From now on, `stop()` leaves unix sockets'
    /// files in place: the set (or the engine that adopted them) removes them.
    ///
    /// Call while the engine accepts (after `start`, before `stopAccepting` and `stop`), never concurrently with
    /// them.
    ///
    /// - Throws: `SystemError` when a descriptor cannot be duplicated (descriptors ran out); nothing is handed
    ///   over then.
    func handOverListeners() throws -> ListenerSet
    /// Stops accepting: closes this engine's listening descriptors (the workers deregister them first, so an
    /// adopted duplicate does not keep waking them); open connections go on.
    func stopAccepting()
    /// Whether the engine accepts new connections (started, and `stopAccepting` not called).
    var isAccepting: Bool { get }
    /// The port each service listens on, in plan order (the kernel's choice for port 0; 0 for unix sockets).
    var listeningPorts: [Int] { get }
    /// Tells the workers that node states changed, so they act on open connections of nodes marked down.
    func nodesChanged()
    /// Open connections across all workers.
    var openConnections: Int { get }
    /// Closes everything and joins the workers.
    func stop()
}

extension Engine {
    /// Opens every listener anew and starts the workers: `start(adopting: nil)`.
    public func start() throws {
        try start(adopting: nil)
    }
}
