import LBEngine
import LBForwarding
import Synchronization

/// One engine and the plan it runs: the balancer's current configuration, or a previous one that a reload
/// replaced and that is finishing its open connections.
final class Generation: Sendable {
    /// 1 for the engine started with the balancer, then one more per reload that was applied.
    let number: Int
    let plan: ForwardingPlan
    let engine: ForwardingEngine
    /// The workers' counters, taken once the engine started (an engine that stopped no longer lists them).
    let counters: [WorkerCounters]
    private let stopped = Mutex(false)

    /// Wraps an engine that has started.
    init(number: Int, plan: ForwardingPlan, engine: ForwardingEngine) {
        self.number = number
        self.plan = plan
        self.engine = engine
        self.counters = engine.counters
    }

    /// Whether `stop` ran.
    var isStopped: Bool { stopped.withLock { $0 } }

    /// Stops the engine (closes its connections, joins its workers) once; a second caller waits for the first.
    func stop() {
        stopped.withLock { stopped in
            guard !stopped else { return }
            engine.stop()
            stopped = true
        }
    }
}

/// Every generation whose engine still runs, the current one last, and the counts of those that stopped: what
/// status and metrics add up, so that totals never go back when a reload retires an engine.
final class Generations: Sendable {
    private struct State {
        /// The current generation last.
        var live: [Generation] = []
        /// Per worker index, the cumulative counters of stopped generations (gauges left at 0).
        var retired: [WorkerCounters] = []
        /// The generation added last, also once stopped.
        var newest: Generation?
    }

    private let state = Mutex(State())

    /// The generation that accepts new connections: the newest (still there once stopped).
    var current: Generation? { state.withLock { $0.newest } }

    /// Every running generation, the current one last.
    var live: [Generation] { state.withLock { $0.live } }

    /// Adds a started generation as the current one.
    func add(_ generation: Generation) {
        state.withLock {
            $0.live.append(generation)
            $0.newest = generation
        }
    }

    /// Takes a stopped generation out, keeping its counts.
    func retire(_ generation: Generation) {
        state.withLock { state in
            guard let index = state.live.firstIndex(where: { $0 === generation }) else { return }
            state.live.remove(at: index)
            for (w, counters) in generation.counters.enumerated() {
                while state.retired.count <= w { state.retired.append(WorkerCounters()) }
                state.retired[w].add(counters, gauges: false)
            }
        }
    }

    /// Open client connections of every running generation.
    var openConnections: Int {
        live.reduce(0) { $0 + $1.engine.openConnections }
    }

    /// Whether every running generation stopped accepting for good (see `ForwardingEngine.hasStoppedAccepting`).
    var haveStoppedAccepting: Bool {
        live.allSatisfy { $0.engine.hasStoppedAccepting }
    }

    /// Tells every running engine that node states changed.
    func nodesChanged() {
        for generation in live { generation.engine.nodesChanged() }
    }

    /// Per worker index, the counters of every generation added up: running ones as they are, stopped ones as
    /// they ended. Gauges (open connections, pipes) are those of running generations. Fresh objects: a reading.
    func counters() -> [WorkerCounters] {
        let (live, retired) = state.withLock { ($0.live, $0.retired) }
        let workers = max(retired.count, live.map(\.counters.count).max() ?? 0)
        return (0..<workers).map { w in
            let sum = WorkerCounters()
            if w < retired.count { sum.add(retired[w], gauges: false) }
            for generation in live where w < generation.counters.count {
                sum.add(generation.counters[w], gauges: true)
            }
            return sum
        }
    }
}
