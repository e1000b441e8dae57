public import LBSystem
import Synchronization

/// Listening sockets on their way from one engine to the next (a reload): what `Engine.handOverListeners()`
/// returns and `Engine.start(adopting:)` takes from.
///
/// Each listener is one service's listen address with the descriptors the engine opened for it, one per worker
/// for TCP (SO_REUSEPORT) and one for a unix socket. The descriptors are duplicates (`duplicateDescriptor`) of
/// the handing engine's own, so the sockets stay open while both engines hold them: the old engine may close its
/// descriptors when it stops accepting, and nothing is closed that the kernel would reset. Closing the last
/// descriptor of an SO_REUSEPORT listener resets the connections waiting in its accept queue, which is what
/// handing sockets over instead of reopening them avoids.
///
/// The set owns its descriptors: what no engine takes must be closed with `close()` (the owner of a set is
/// whoever holds it last; `deinit` closes leftovers too, as a safety net).
public final class ListenerSet: @unchecked Sendable {
    /// One service's listening sockets.
    public struct Listener: Sendable {
        /// The service's name, to tell apart listeners that asked for "any port" (port 0) on one address.
        public let name: String
        /// The address as configured: a port of 0 asked the kernel for one.
        public let address: SocketAddress
        /// The port the sockets are bound to (the kernel's choice when `address` has port 0); 0 for unix sockets.
        public let boundPort: Int
        /// The sockets, in worker order.
        public let descriptors: [Int32]

        public init(name: String, address: SocketAddress, boundPort: Int, descriptors: [Int32]) {
            self.name = name
            self.address = address
            self.boundPort = boundPort
            self.descriptors = descriptors
        }
    }

    private let listeners: Mutex<[Listener]>

    /// A set holding `listeners`; it owns their descriptors from now on.
    public init(_ listeners: [Listener] = []) {
        self.listeners = Mutex(listeners)
    }

    /// Takes the listener of a service out of the set: the one with the same configured address (and, for an
    /// address with port 0, the same service name, since "any port" names no particular socket). The caller
    /// owns its descriptors from now on.
    ///
    /// - Returns: the listener, or nil when the set has none for that address (the engine opens one).
    public func take(address: SocketAddress, name: String) -> Listener? {
        listeners.withLock { all in
            let anyPort = address.family != .unix && address.port == 0
            guard let index = all.firstIndex(where: { $0.address == address && (!anyPort || $0.name == name) }) else {
                return nil
            }
            return all.remove(at: index)
        }
    }

    /// The listeners no engine took yet.
    public var remaining: [Listener] { listeners.withLock { $0 } }

    /// Closes every listener no engine took: its port closes (once the handing engine closed its own descriptors)
    /// and, with `removingSocketFiles`, a unix socket's file is removed.
    ///
    /// - Parameter removingSocketFiles: false when handing over failed and the handing engine goes on serving on
    ///   those paths.
    public func close(removingSocketFiles: Bool = true) {
        let left = listeners.withLock { all in
            defer { all.removeAll() }
            return all
        }
        for listener in left {
            for fd in listener.descriptors { closeDescriptor(fd) }
            if removingSocketFiles && listener.address.family == .unix { UnixSocketPath.remove(listener.address) }
        }
    }

    deinit {
        close()
    }
}
