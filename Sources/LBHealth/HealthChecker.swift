public import LBBalancing
public import Logging
import Foundation
import LBSystem
import Synchronization

/// The probe loop: one task per target (a node's P2P port, or with scope `service` each service's port too),
/// running beside the forwarding workers, never on their threads. Each target probes every `interval` (with a
/// little jitter, so nodes are not probed in lockstep), or every `fastInterval` while changing state, and puts
/// its node in or out of the pools on a rise or fall.
public final class HealthChecker: Sendable {
    /// One thing to probe.
    public struct Target: Sendable {
        public let node: Int
        public let host: String
        public let port: Int
        /// nil: the node-wide probe (its failure takes the node out of every service); else a service index.
        public let service: Int?
        public let serviceName: String?

        public init(node: Int, host: String, port: Int, service: Int? = nil, serviceName: String? = nil) {
            self.node = node
            self.host = host
            self.port = port
            self.service = service
            self.serviceName = serviceName
        }
    }

    /// The timing of the loop.
    public struct Timing: Sendable {
        public var intervalMs: Int
        public var fastIntervalMs: Int
        public var rise: Int
        public var fall: Int
        public var startUp: Bool
        public init(intervalMs: Int = 1_000, fastIntervalMs: Int = 300, rise: Int = 2, fall: Int = 2, startUp: Bool = true) {
            self.intervalMs = intervalMs
            self.fastIntervalMs = fastIntervalMs
            self.rise = rise
            self.fall = fall
            self.startUp = startUp
        }
    }

    /// The last thing a target's probe saw, for status pages.
    public struct Report: Sendable {
        public let target: Target
        public let isUp: Bool
        public let lastResult: ProbeResult?
        public let lastGood: Date?
        public let since: Date
        /// How long its probes took, this checker's and those of the checkers it took over from.
        public let latency: ProbeLatency
    }

    /// Where a target's probing picks up when a checker takes over from another (a reload): the verdict the
    /// node has now and what the previous checker saw, so no node changes state because probing restarted.
    public struct Carried: Sendable {
        public var isUp: Bool
        public var lastResult: ProbeResult?
        public var lastGood: Date?
        public var since: Date
        public var latency: ProbeLatency

        public init(
            isUp: Bool, lastResult: ProbeResult? = nil, lastGood: Date? = nil, since: Date = Date(),
            latency: ProbeLatency = ProbeLatency()
        ) {
            self.isUp = isUp
            self.lastResult = lastResult
            self.lastGood = lastGood
            self.since = since
            self.latency = latency
        }
    }

    private let nodes: [NodeState]
    /// Index = target index; nil where probing starts as `timing.startUp` says.
    private let carried: [Carried?]
    private let targets: [Target]
    private let settings: ProbeSettings
    private let timing: Timing
    private let logger: Logger
    private let onChange: @Sendable () -> Void
    private let reports: Mutex<[Report]>

    /// - Parameters:
    ///   - onChange: called after a node went down (so the engine can close its sessions).
    ///   - carried: per target (same order), where its probing picks up after a reload; nil, or an array shorter
    ///     than `targets`, starts the others as `timing.startUp` says.
    public init(
        nodes: [NodeState],
        targets: [Target],
        settings: ProbeSettings,
        timing: Timing,
        logger: Logger,
        carried: [Carried?] = [],
        onChange: @escaping @Sendable () -> Void
    ) {
        self.nodes = nodes
        self.targets = targets
        self.settings = settings
        self.timing = timing
        self.logger = logger
        self.onChange = onChange
        let carried = targets.indices.map { $0 < carried.count ? carried[$0] : nil }
        self.carried = carried
        let now = Date()
        reports = Mutex(
            zip(targets, carried).map { target, carried in
                Report(
                    target: target, isUp: carried?.isUp ?? timing.startUp, lastResult: carried?.lastResult,
                    lastGood: carried?.lastGood, since: carried?.since ?? now, latency: carried?.latency ?? ProbeLatency()
                )
            }
        )
    }

    /// The targets probed, in report order.
    public var probedTargets: [Target] { targets }

    /// What each target saw last.
    public var report: [Report] { reports.withLock { $0 } }

    /// Starts `run()` as a task on a thread of its own (`ProbeThread`): neither its start nor any probe after
    /// waits for a thread of Swift's cooperative pool, which blocking work elsewhere in the process may hold.
    /// `finished` is called when the task ends (cancel the task to end it).
    public func start(finished: @escaping @Sendable () -> Void) -> Task<Void, Never> {
        // The prober is made here, on the caller's thread, not in the task: its HTTP client brings up NIO's event
        // loops, which must have their descriptors before the workers may have taken every one (NIO stops the
        // process when it cannot create an event loop).
        let prober = try? Prober(settings: settings)
        let thread = ProbeThread(name: "tessera-lb health")
        return Task.detached(executorPreference: thread) {
            await self.run(with: prober)
            thread.stop()
            finished()
        }
    }

    /// Probes until the task is cancelled, then closes the HTTP client. No prober: the TLS files could not be
    /// read, and no probe runs.
    private func run(with prober: Prober?) async {
        guard let prober else {
            logger.error("health probe: cannot read the TLS files; no probes run")
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for index in targets.indices {
                group.addTask { await self.loop(index, prober) }
            }
        }
        await prober.shutdown()
    }

    private func loop(_ index: Int, _ prober: Prober) async {
        let target = targets[index]
        let node = nodes[target.node]
        var machine = HealthStateMachine(rise: timing.rise, fall: timing.fall, startUp: carried[index]?.isUp ?? timing.startUp)
        var lastGood: Date? = carried[index]?.lastGood
        var since = carried[index]?.since ?? Date()
        var latency = carried[index]?.latency ?? ProbeLatency()
        // Spread the first probes over one interval.
        try? await Task.sleep(for: .milliseconds(Int.random(in: 0...max(1, timing.intervalMs / 4))))
        while !Task.isCancelled {
            // Passive and active health together: a node taken out by failed connects comes back only through
            // the probe.
            if target.service == nil, node.isFailedOut(now: MonotonicClock.nowMilliseconds()), machine.isUp,
                let transition = machine.forceDown()
            {
                since = Date()
                apply(transition, target: target, reason: "max_fails failed connects", lastGood: lastGood)
            }
            // Intervals run from the start of one probe to the start of the next (as HAProxy's inter does), so a
            // probe that times out does not push the next one back by its timeout.
            let started = ContinuousClock.now
            let result = await prober.probe(host: target.host, port: target.port)
            // Cancelled (stopped, or replaced by a reload's checker, which took over the node's verdict): a probe
            // that was under way changes nothing.
            if Task.isCancelled { break }
            let took = ContinuousClock.now - started
            latency.record(Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
            if result.isHealthy { lastGood = Date() }
            if let transition = machine.record(success: result.isHealthy) {
                since = Date()
                apply(transition, target: target, reason: result.description, lastGood: lastGood)
            }
            let isUp = machine.isUp
            let seen = lastGood
            let changedAt = since
            let durations = latency
            reports.withLock {
                $0[index] = Report(
                    target: target, isUp: isUp, lastResult: result, lastGood: seen, since: changedAt, latency: durations
                )
            }
            let base = machine.isChanging ? timing.fastIntervalMs : timing.intervalMs
            let jitter = Int.random(in: -(base / 10)...(base / 10))
            let next = started + .milliseconds(max(1, base + jitter))
            if next > ContinuousClock.now { try? await Task.sleep(until: next, clock: .continuous) }
        }
    }

    private func apply(_ transition: HealthStateMachine.Transition, target: Target, reason: String, lastGood: Date?) {
        let node = nodes[target.node]
        let up = transition == .wentUp
        if let service = target.service {
            node.setServiceUp(service, up)
        } else {
            node.setMarkedUp(up)
        }
        if !up { onChange() }
        var metadata: Logger.Metadata = [
            "node": "\(node.name)", "probe": "\(target.host):\(target.port)", "reason": "\(reason)",
        ]
        if let name = target.serviceName { metadata["service"] = "\(name)" }
        if let lastGood {
            metadata["last_good_probe"] = "\(String(format: "%.1f", Date().timeIntervalSince(lastGood))) s ago"
        } else {
            metadata["last_good_probe"] = "never"
        }
        if up {
            logger.notice("node up", metadata: metadata)
        } else {
            logger.warning("node down", metadata: metadata)
        }
    }
}
