import Glibc
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
    /// Guards `workers` against `stop()` emptying it while another thread goes through it: a reload's or a
    /// probe's `nodesChanged`, racing the drain thread's stop, crashed reload storms. The hot path never takes it.
    private let workersLock = Mutex(())
    /// The workers as they are now, for a thread other than the engine's owner.
    private var currentWorkers: [any WorkerLoop] { workersLock.withLock { _ in workers } }
    private var threads: [WorkerThread] = []
    /// `--log-connections`: the thread that takes the workers' records to the log, and how many dropped
    /// records of each worker were reported.
    private var logThread: WorkerThread?
    private var droppedLogged: [Int] = []
    /// The port each service listens on (resolved when a configured port was 0).
    public private(set) var listeningPorts: [Int] = []
    /// The io_uring setup flags in use (io_uring engine only).
    private let ringFlags: IoUring.SetupFlags
    /// The listening descriptors as opened, [worker][service] (-1 where a worker has none): what
    /// `handOverListeners` duplicates. The workers close theirs when they stop accepting.
    private var listenerTable: [[Int32]] = []
    /// Whether the listeners were handed to a next engine, which then removes unix sockets' files.
    private var handedOver = false

    /// An engine on `kind`. For io_uring, `ringFlags` are those `RingSupport.probe` found to work.
    public init(plan: ForwardingPlan, kind: Kind = .epoll, ringFlags: IoUring.SetupFlags = []) {
        self.plan = plan
        self.kind = kind
        self.ringFlags = ringFlags
    }

    /// Opens every listener (all workers' before any thread starts, so a bind error stops start-up cleanly),
    /// taking those a previous engine handed over from `adopted`, then starts the workers.
    ///
    /// - Throws: `SystemError` naming the failing bind or listen.
    public func start(adopting adopted: ListenerSet?) throws {
        ProcessSetup.ignoreSIGPIPE()
        // As servers do: every descriptor the hard limit allows (the soft one is often 1024).
        DescriptorLimit.raiseSoftToHard()
        var perWorker: [[Int32]] = Array(repeating: [], count: plan.workers)
        var ports: [Int] = []
        var loops: [@Sendable () -> Void] = []
        do {
            for service in plan.services {
                var address = service.listenAddress
                // Unix sockets cannot share a path across listeners: the first worker takes it alone.
                let count = address.family == .unix ? 1 : plan.workers
                var fds: [Int32] = []
                if let listener = adopted?.take(address: address, name: service.name) {
                    fds = listener.descriptors
                    if address.family != .unix { address = address.withPort(listener.boundPort) }
                    // Another worker count: open the missing sockets on the same port, close the surplus.
                    while fds.count > count { closeDescriptor(fds.removeLast()) }
                } else {
                    if address.family == .unix { try UnixSocketPath.prepare(address) }
                    if address.family != .unix && address.port == 0 { address = address.withPort(try Socket.unusedPort(on: address, freeBind: plan.freeBind)) }
                }
                // Adopted sockets first: they are in `perWorker` (closed by the error path) before any listen
                // can throw.
                for w in 0..<plan.workers { perWorker[w].append(w < min(count, fds.count) ? fds[w] : -1) }
                for w in fds.count..<count {
                    perWorker[w][perWorker[w].count - 1] = try Socket.listen(on: address, reusePort: true, freeBind: plan.freeBind)
                }
                // Adopted ones too: a reload may have changed who may connect.
                if address.family == .unix { try UnixSocketPath.bound(address, access: plan.unixSocketAccess) }
                ports.append(address.family == .unix ? address.port : Socket.localPort(perWorker[0][perWorker[0].count - 1]))
            }
            // Each loop is started from where its event source's type is known (`run` is called on a
            // `Worker<EpollEvents>` or `Worker<RingEvents>`, not on `any WorkerLoop`), so that the compiler
            // specializes the worker for it: generic code would reach every event-source call, and every
            // static of the worker's, through run-time metadata.
            for w in 0..<plan.workers {
                switch kind {
                case .epoll:
                    let events = try EpollEvents()
                    let worker = try Worker(index: w, plan: plan, shared: shared, listeners: perWorker[w], events: events)
                    workers.append(worker)
                    loops.append { worker.run() }
                case .ioUring:
                    let events = try RingEvents(
                        flags: ringFlags, capacity: max(16, plan.maxConnections), listeners: perWorker[w].count
                    )
                    let worker = try Worker(index: w, plan: plan, shared: shared, listeners: perWorker[w], events: events)
                    workers.append(worker)
                    loops.append { worker.run() }
                }
            }
        } catch {
            for fds in perWorker { for fd in fds where fd >= 0 { closeDescriptor(fd) } }
            workers.removeAll()
            throw error
        }
        listeningPorts = ports
        listenerTable = perWorker
        for loop in loops {
            threads.append(WorkerThread(loop))
        }
        if plan.connectionLog != nil {
            droppedLogged = Array(repeating: 0, count: workers.count)
            logThread = WorkerThread { [self] in
                while !shared.stop.load(ordering: .relaxed) {
                    drainConnectionLogs()
                    usleep(100_000)
                }
            }
        }
    }

    /// `--log-connections`: hands every record the workers wrote to the plan's logger, on this thread.
    private func drainConnectionLogs() {
        guard let log = plan.connectionLog else { return }
        for (w, worker) in workers.enumerated() {
            guard let ring = worker.connectionLog else { continue }
            ring.drain { log($0, 0) }
            let dropped = ring.dropped.load(ordering: .relaxed)
            if dropped > droppedLogged[w] {
                log(ConnectionRecord(), dropped - droppedLogged[w])
                droppedLogged[w] = dropped
            }
        }
    }

    /// Duplicates of every listening socket, by service, for the next engine (see `Engine.handOverListeners`).
    ///
    /// - Throws: `SystemError` when a descriptor cannot be duplicated; nothing is handed over then.
    public func handOverListeners() throws -> ListenerSet {
        precondition(isAccepting, "handOverListeners needs an engine that accepts")
        var listeners: [ListenerSet.Listener] = []
        do {
            for (s, service) in plan.services.enumerated() {
                var descriptors: [Int32] = []
                for fds in listenerTable where fds[s] >= 0 {
                    do {
                        descriptors.append(try duplicateDescriptor(fds[s]))
                    } catch {
                        for fd in descriptors { closeDescriptor(fd) }
                        throw error
                    }
                }
                listeners.append(
                    .init(name: service.name, address: service.listenAddress, boundPort: listeningPorts[s], descriptors: descriptors)
                )
            }
        } catch {
            for listener in listeners { for fd in listener.descriptors { closeDescriptor(fd) } }
            throw error
        }
        handedOver = true
        return ListenerSet(listeners)
    }

    public func stopAccepting() {
        shared.stopAccepting.store(true, ordering: .relaxed)
        for worker in currentWorkers { worker.wake() }
    }

    /// Tells the workers that node states changed (a node was marked down), so they act on open connections.
    public func nodesChanged() {
        for worker in currentWorkers { worker.wake() }
    }

    /// Whether, after `stopAccepting`, every worker closed its listeners and has no accept in flight: from then on
    /// `openConnections` only goes down, so a drain that sees it at 0 may stop the engine. (Before, io_uring may
    /// still deliver a socket accepted a moment before the listeners closed, and stopping would reset it.)
    public var hasStoppedAccepting: Bool {
        shared.stopAccepting.load(ordering: .relaxed) && shared.doneAccepting.load(ordering: .acquiring) >= plan.workers
    }

    /// Whether the listeners are open (false once draining).
    public var isAccepting: Bool {
        !currentWorkers.isEmpty && !shared.stopAccepting.load(ordering: .relaxed)
    }

    public var openConnections: Int { shared.openConnections.load(ordering: .relaxed) }

    /// Per-worker counters, for status and metrics.
    public var counters: [WorkerCounters] { currentWorkers.map(\.counters) }

    public func stop() {
        shared.stop.store(true, ordering: .relaxed)
        for worker in workers { worker.wake() }
        for thread in threads { thread.join() }
        threads.removeAll()
        logThread?.join()
        logThread = nil
        drainConnectionLogs()  // what the workers wrote while closing
        // Their rings, pipes and buffers go now; a copy another thread still holds keeps a worker until it is
        // done with it (waking a worker that ended is harmless).
        workersLock.withLock { _ in workers.removeAll() }
        for service in plan.services where service.listenAddress.family == .unix && !handedOver {
            UnixSocketPath.remove(service.listenAddress)
        }
    }
}
