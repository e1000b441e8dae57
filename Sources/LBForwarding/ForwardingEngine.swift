public import LBEngine
public import LBSystem
import Synchronization

/// The forwarding engine: N workers, each with its own event source (epoll or io_uring, one per worker) and
/// its own SO_REUSEPORT listener per service, so the kernel spreads new connections and workers share
/// nothing on the hot path.
public final class ForwardingEngine: Engine, @unchecked Sendable {
    /// Which event source the workers wait on.
    public enum Kind: String, Sendable, CaseIterable {
        case epoll
        case ioUring = "io_uring"
    }

    public let kind: Kind
    public var name: String { kind.rawValue }
    public let plan: ForwardingPlan
    private let shared = EngineShared()
    private var workers: [any WorkerLoop] = []
    private var threads: [WorkerThread] = []
    /// The port each service listens on (resolved when a configured port was 0).
    public private(set) var listeningPorts: [Int] = []
    /// The io_uring setup flags in use (io_uring engine only).
    private let ringFlags: IoUring.SetupFlags

    /// An engine on `kind`. For io_uring, `ringFlags` are those `RingSupport.probe` found to work.
    public init(plan: ForwardingPlan, kind: Kind = .epoll, ringFlags: IoUring.SetupFlags = []) {
        self.plan = plan
        self.kind = kind
        self.ringFlags = ringFlags
    }

    /// Opens every listener (all workers' before any thread starts, so a bind error stops start-up cleanly),
    /// then starts the workers.
    ///
    /// - Throws: `SystemError` naming the failing bind or listen.
    public func start() throws {
        ProcessSetup.ignoreSIGPIPE()
        ProcessSetup.raiseDescriptorLimit()
        var perWorker: [[Int32]] = Array(repeating: [], count: plan.workers)
        var ports: [Int] = []
        do {
            for service in plan.services {
                var address = service.listenAddress
                // Unix sockets cannot share a path across listeners: the first worker takes it alone.
                let count = address.family == .unix ? 1 : plan.workers
                if address.family == .unix { try UnixSocketPath.prepare(address) }
                if address.family != .unix && address.port == 0 { address = address.withPort(try Socket.unusedPort(on: address)) }
                for w in 0..<plan.workers {
                    guard w < count else { perWorker[w].append(-1); continue }
                    let fd = try Socket.listen(on: address, reusePort: true)
                    if w == 0 {
                        // Port 0 asks the kernel for a port: the other workers must share the one it gave.
                        if address.family != .unix && address.port == 0 { address = address.withPort(Socket.localPort(fd)) }
                        ports.append(address.port)
                    }
                    perWorker[w].append(fd)
                }
            }
            for w in 0..<plan.workers {
                switch kind {
                case .epoll:
                    let events = try EpollEvents()
                    workers.append(try Worker(index: w, plan: plan, shared: shared, listeners: perWorker[w], events: events))
                case .ioUring:
                    let events = try RingEvents(flags: ringFlags, capacity: max(16, plan.maxConnections))
                    workers.append(try Worker(index: w, plan: plan, shared: shared, listeners: perWorker[w], events: events))
                }
            }
        } catch {
            for fds in perWorker { for fd in fds where fd >= 0 { closeDescriptor(fd) } }
            workers.removeAll()
            throw error
        }
        listeningPorts = ports
        for worker in workers {
            threads.append(WorkerThread { worker.run() })
        }
    }

    public func stopAccepting() {
        shared.stopAccepting.store(true, ordering: .relaxed)
        for worker in workers { worker.wake() }
    }

    /// Tells the workers that node states changed (a node was marked down), so they act on open connections.
    public func nodesChanged() {
        for worker in workers { worker.wake() }
    }

    /// Whether the listeners are open (false once draining).
    public var isAccepting: Bool { !workers.isEmpty && !shared.stopAccepting.load(ordering: .relaxed) }

    public var openConnections: Int { shared.openConnections.load(ordering: .relaxed) }

    /// Per-worker counters, for status and metrics.
    public var counters: [WorkerCounters] { workers.map(\.counters) }

    public func stop() {
        shared.stop.store(true, ordering: .relaxed)
        for worker in workers { worker.wake() }
        for thread in threads { thread.join() }
        threads.removeAll()
        workers.removeAll()
        for service in plan.services where service.listenAddress.family == .unix {
            UnixSocketPath.remove(service.listenAddress)
        }
    }
}
