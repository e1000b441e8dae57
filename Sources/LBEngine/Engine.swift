/// A forwarding engine: N worker threads that accept, balance and move bytes. The epoll engine implements it
/// today; an io_uring engine sits beside it behind the same calls.
public protocol Engine: AnyObject, Sendable {
    /// A short name for logs (`epoll`, `io_uring`).
    var name: String { get }
    /// Opens the listeners and starts the workers. Throws if a listener cannot be opened.
    func start() throws
    /// Stops accepting: closes the listeners; open connections go on.
    func stopAccepting()
    /// Tells the workers that node states changed, so they act on open connections of nodes marked down.
    func nodesChanged()
    /// Open connections across all workers.
    var openConnections: Int { get }
    /// Closes everything and joins the workers.
    func stop()
}
