public import LBBalancing
public import LBConfig
public import LBEngine
public import LBForwarding
public import Logging
public import LBHealth
import Dispatch
import Foundation
import LBSystem
import Glibc
import NIOPosix
import Synchronization

/// A running tessera-lb: the configuration resolved into addresses and shared node state, and the engine
/// that forwards. Start it, stop it, reload it; the command line and the tests go through this type.
///
/// A reload (`reload(to:)`) starts a new engine for the new configuration beside the running one, hands it the
/// listening sockets, and lets the old one finish its connections: see `Engine` and docs/internals/reload.md.
public final class Balancer: @unchecked Sendable {
    /// What a reload replaces, together.
    struct Running {
        var config: BalancerConfig
        /// Shared node state, in the configuration's node order.
        var nodes: [NodeState]
        /// Each node's address as resolved (port 0), in node order.
        var hosts: [SocketAddress]
        var health: HealthRun?
        var group: GroupRun?
    }

    let running: Mutex<Running>
    /// Every engine that runs: the current one, and those a reload replaced while they drain.
    let generations = Generations()
    let logger: Logger
    /// `--log-connections`: every engine's plan gets a connection logger.
    let logConnections: Bool
    /// Serializes start, reload, drain and stop; guards what follows.
    let operations = NSLock()
    /// The plan and engine built by `init`, which `start` starts: generation 1.
    private let initial: (plan: ForwardingPlan, engine: ForwardingEngine, why: String)
    /// How many generations were started (the number of the current one).
    var generationCount = 0
    /// Set by `drain` and `stop`: no reload after that.
    var isStopping = false
    /// Called after each reload that was applied, before its log line.
    let reloadObservers = Mutex<[@Sendable () -> Void]>([])
    /// Set on SIGTERM (`beginStopping`): not ready from then on, though still accepting during the accept grace.
    let shuttingDown = Atomic<Bool>(false)

    /// The configuration running now (the last one a reload applied).
    public var config: BalancerConfig { running.withLock { $0.config } }
    /// Shared node state, in the configuration's node order.
    public var nodes: [NodeState] { running.withLock { $0.nodes } }
    /// The probe loop, when active health is on.
    public var health: HealthChecker? { running.withLock { $0.health?.checker } }
    /// The engine that accepts new connections.
    public var engine: any Engine { generations.current?.engine ?? initial.engine }
    /// The port each service listens on, in configuration order.
    public var listeningPorts: [Int] { engine.listeningPorts }
    /// Open client connections, of every engine that runs (a reload's previous engines while they drain too).
    public var openConnections: Int { generations.openConnections }
    /// How many engines run: 1, plus those a reload replaced that are still finishing their connections.
    public var runningEngines: Int { generations.live.count }
    /// Each worker's counters, added up over every engine there was (so totals never go back on a reload).
    public var counters: [WorkerCounters] { generations.counters() }

    /// Resolves every node's host name and builds the engine (nothing listens yet).
    ///
    /// - Throws: `BalancerError` naming the node whose host does not resolve, or a bad listen address.
    /// - Parameter logConnections: log one line per connection when it ends (`--log-connections`).
    public init(config: BalancerConfig, logger: Logger = Logger(label: "tessera-lb"), logConnections: Bool = false)
        throws(BalancerError)
    {
        self.logger = logger
        self.logConnections = logConnections
        let hosts = try Self.resolve(config.nodes)
        let services = try Self.services(of: config, hosts: hosts)
        let startUp = !config.health.enabled || config.health.initialState == .up
        let nodes = config.nodes.map { NodeState(name: $0.name, initiallyUp: startUp) }
        let probe = try Self.probePlan(of: config)
        let generations = self.generations
        let health = probe.map {
            HealthRun(
                HealthChecker(
                    nodes: nodes, targets: $0.targets, settings: $0.settings, timing: $0.timing, logger: logger,
                    onChange: { generations.nodesChanged() }
                )
            )
        }
        let group = try Self.groupRun(of: config, nodes: nodes, logger: logger, onChange: { generations.nodesChanged() })
        running = Mutex(Running(config: config, nodes: nodes, hosts: hosts, health: health, group: group))
        let plan = Self.makePlan(
            config, services: services, nodes: nodes, workers: config.workers ?? Self.cores(), logger: logger,
            logConnections: logConnections
        )
        let (engine, why) = try Self.makeEngine(plan: plan, choice: config.engine)
        initial = (plan, engine, why)
    }

    /// The one place an engine is made: every generation's engine comes from here. `choice` as configured:
    /// io_uring if the probe finds it works here (`auto` falls back to epoll when it does not, `io_uring`
    /// refuses to start), else epoll. Returns the engine and why it is that one.
    static func makeEngine(plan: ForwardingPlan, choice: BalancerConfig.EngineChoice) throws(BalancerError)
        -> (engine: ForwardingEngine, why: String)
    {
        if choice == .epoll { return (ForwardingEngine(plan: plan, kind: .epoll), "--engine epoll") }
        switch RingSupport.probe() {
        case .usable(let flags, let detail):
            let why = choice == .auto ? "auto: io_uring works here (\(detail))" : "--engine io_uring (\(detail))"
            return (ForwardingEngine(plan: plan, kind: .ioUring, ringFlags: flags), why)
        case .unusable(let reason):
            if choice == .ioUring { throw BalancerError("--engine io_uring: \(reason)") }
            return (ForwardingEngine(plan: plan, kind: .epoll), "auto: io_uring unavailable, \(reason)")
        }
    }

    /// Opens the listeners and starts forwarding.
    ///
    /// - Throws: `BalancerError` naming the listener that could not be opened.
    public func start() throws(BalancerError) {
        operations.lock()
        defer { operations.unlock() }
        guard generationCount == 0 else { return }
        let (plan, engine, why) = initial
        let (config, health, group) = running.withLock { ($0.config, $0.health, $0.group) }
        // Before the listeners open: NIO's shared event loops (the probes' and the group check's HTTP clients)
        // take their descriptors now, even if neither runs yet and a reload starts one later. Once clients have
        // taken every descriptor, an event loop that cannot be created stops the process.
        _ = MultiThreadedEventLoopGroup.singleton
        health?.start()
        group?.start()
        do {
            try engine.start()
        } catch {
            group?.cancel()
            health?.cancel()
            throw Self.listenError(error, freebind: plan.freeBind)
        }
        generationCount = 1
        generations.add(Generation(number: 1, plan: plan, engine: engine))
        logger.info(
            "forwarding",
            metadata: [
                "engine": "\(engine.name)", "why": "\(why)", "workers": "\(plan.workers)", "forward": "\(plan.mode.rawValue)",
                "balance": "\(plan.balance.rawValue)", "listen": "\(Self.listening(plan, ports: engine.listeningPorts, config: config))",
                "nodes": "\(config.nodes.map { "\($0.name)=\($0.host)" }.joined(separator: " "))",
            ]
        )
        warnIfDescriptorsShort(maxConnections: config.maxConnections, mode: config.forward)
    }

    /// Descriptors a connection takes: its two sockets, and with splice a pipe (two ends) while bytes move.
    static func descriptorsPerConnection(_ mode: BalancerConfig.ForwardMode) -> Int { mode == .copy ? 2 : 4 }
    /// Descriptors beside the connections': listeners, event sources, probes, the admin listener, logs.
    static let descriptorsBeside = 64

    /// Says so when `--max-conns` connections need more descriptors than the nofile limit allows (HAProxy
    /// derives maxconn from it, nginx warns): past that, new clients wait to be accepted.
    private func warnIfDescriptorsShort(maxConnections: Int, mode: BalancerConfig.ForwardMode) {
        let limit = DescriptorLimit.current().soft
        let perConnection = Self.descriptorsPerConnection(mode)
        let needed = maxConnections * perConnection + Self.descriptorsBeside
        guard needed > limit else { return }
        logger.warning(
            "--max-conns needs more descriptors than the nofile limit allows: past about \(max(0, (limit - Self.descriptorsBeside) / perConnection)) connections new clients wait to be accepted; raise the limit (ulimit -n, systemd LimitNOFILE=, docker --ulimit nofile=) or lower --max-conns",
            metadata: ["max_conns": "\(maxConnections)", "descriptors_needed": "\(needed)", "nofile": "\(limit)"]
        )
    }

    /// The first step of a stop: report not-ready (`/readyz` 503, `tessera-lb health` non-zero) at once while
    /// the listeners still accept, so that keepalived or a Kubernetes Service moves new clients away during the
    /// accept grace before `drain` closes the listeners.
    public func beginStopping() {
        shuttingDown.store(true, ordering: .relaxed)
    }

    /// True once `beginStopping` was called.
    public var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }

    /// Graceful stop: every engine stops accepting (no new connections), then open connections, a reload's
    /// previous engines' too, get up to `timeoutMs` to finish. Returns how many were still open when it gave up
    /// (0: all finished); a cancelled task gives up at once. No reload is applied after this.
    @discardableResult
    public func drain(timeoutMs: Int) async -> Int {
        operations.withLock {
            isStopping = true
            for generation in generations.live where generation.engine.isAccepting { generation.engine.stopAccepting() }
        }
        let deadline = MonotonicClock.nowMilliseconds() + Int64(timeoutMs)
        // Sockets accepted a moment before the listeners closed are still arriving until every engine says so.
        // The workers count their connections without telling anyone: looked at every 20 ms.
        while (generations.openConnections > 0 || !generations.haveStoppedAccepting) && MonotonicClock.nowMilliseconds() < deadline
            && !Task.isCancelled
        {
            await pause(milliseconds: 20)
        }
        return generations.openConnections
    }

    /// Stops accepting, closes every connection and joins the workers, of every engine.
    public func stop() {
        let (health, group) = operations.withLock {
            isStopping = true
            return running.withLock { ($0.health, $0.group) }
        }
        group?.cancel()
        // The probe loop ends on its own once cancelled (it closes its HTTP client itself). Not waited for:
        // blocking here could starve the cooperative threads that task needs.
        health?.cancel()
        for generation in generations.live {
            generation.stop()
            generations.retire(generation)
        }
    }

    // MARK: - Building blocks (start and reload)

    /// Why the listeners could not be opened, for the operator. A bind to an address this host does not hold
    /// (EADDRNOTAVAIL) is what a standby balancer meets on a floating address: the message names the setting.
    static func listenError(_ error: any Error, freebind: Bool) -> BalancerError {
        if let failure = error as? SystemError, failure.errno == EADDRNOTAVAIL, !freebind {
            return BalancerError(
                "cannot listen: \(failure): the address is not on this host; a standby behind a floating address "
                    + "listens on it before it holds it with --freebind (TESSERA_LB_FREEBIND, config \"freebind\")"
            )
        }
        return BalancerError("cannot listen: \(error)")
    }

    /// Each node's host, resolved (the first address).
    ///
    /// - Throws: `BalancerError` naming the node whose host does not resolve.
    static func resolve(_ nodes: [BalancerConfig.Node]) throws(BalancerError) -> [SocketAddress] {
        var hosts: [SocketAddress] = []
        for node in nodes {
            do {
                guard let first = try SocketAddress.resolve(host: node.host, port: 0).first else {
                    throw SystemError("getaddrinfo(\(node.host))", errno: ENOENT)
                }
                hosts.append(first)
            } catch {
                throw BalancerError("node \(node.name): host \"\(node.host)\" does not resolve (\(error))")
            }
        }
        return hosts
    }

    /// The services as the engine takes them: where each listens, and each node's address for it.
    ///
    /// - Throws: `BalancerError` for a bad listen address or a unix socket path that is too long.
    static func services(of config: BalancerConfig, hosts: [SocketAddress]) throws(BalancerError) -> [ForwardingPlan.Service] {
        guard SocketAddress(ipLiteral: config.listenAddress, port: 0) != nil else {
            throw BalancerError("listen address \"\(config.listenAddress)\" is not an IPv4 or IPv6 address")
        }
        var services: [ForwardingPlan.Service] = []
        for service in config.services {
            let listen: SocketAddress
            if let path = service.listenPath {
                guard let unix = SocketAddress(unixPath: path) else {
                    throw BalancerError("service \(service.name): unix socket path \"\(path)\" is too long (at most 107 bytes)")
                }
                listen = unix
            } else {
                listen = SocketAddress(ipLiteral: config.listenAddress, port: service.listenPort)!
            }
            services.append(
                ForwardingPlan.Service(
                    name: service.name, listenAddress: listen, nodeAddresses: hosts.map { $0.withPort(service.nodePort) },
                    allow: try service.allow.map { entries throws(BalancerError) in try Self.allowRanges(entries, service: service.name) }
                )
            )
        }
        return services
    }

    /// An allowlist's entries as networks: addresses and networks as written, host names resolved now to every
    /// address they have (at start and on each reload).
    ///
    /// - Throws: `BalancerError` naming the service and the host that does not resolve.
    static func allowRanges(_ entries: [String], service: String) throws(BalancerError) -> [AddressRange] {
        var ranges: [AddressRange] = []
        for entry in entries {
            if let range = AddressRange(entry) {
                ranges.append(range)
                continue
            }
            do {
                for address in try SocketAddress.resolve(host: entry, port: 0) {
                    ranges.append(AddressRange(address: address, prefix: address.family == .ipv6 ? 128 : 32))
                }
            } catch {
                throw BalancerError("service \(service): allowlist host \"\(entry)\" does not resolve (\(error))")
            }
        }
        return ranges
    }

    static func makePlan(
        _ config: BalancerConfig, services: [ForwardingPlan.Service], nodes: [NodeState], workers: Int, logger: Logger,
        logConnections: Bool
    ) -> ForwardingPlan {
        let serviceNames = services.map(\.name)
        let nodeNames = nodes.map(\.name)
        return ForwardingPlan(
            services: services,
            nodes: nodes,
            workers: workers,
            balance: config.balance,
            maxConnections: config.maxConnections,
            connectTimeoutMs: Int64(config.connectTimeoutMs),
            idleTimeoutMs: Int64(config.idleTimeoutMs),
            passiveHealth: PassiveHealth(maxFails: config.maxFails, failTimeoutMs: Int64(config.failTimeoutMs)),
            mode: ForwardingMode(rawValue: config.forward.rawValue) ?? .auto,
            pipeSize: config.pipeSize,
            nodeUserTimeoutMs: config.nodeUserTimeoutMs,
            nodeKeepaliveSeconds: config.nodeKeepaliveSeconds,
            allDownFallback: config.allDown == .leastRecentlyFailed,
            closeSessionsOnMarkDown: config.health.onMarkedDown == .shutdownSessions,
            notice: { [logger] line in logger.warning("\(line)") },
            connectionLog: logConnections ? connectionLogger(services: serviceNames, nodes: nodeNames, logger: logger) : nil,
            ringBuffers: config.ringBuffers,
            freeBind: config.freebind,
            unixSocketAccess: unixSocketAccess(config),
            mirrorService: config.mirrorPartyinfo == .on ? services.firstIndex { $0.name == "p2p" } : nil
        )
    }

    /// `unixMode` and `unixOwner` as the listeners apply them. The owner's names were looked up when the
    /// configuration was loaded, moments before; one that vanished since is left as the balancer's.
    static func unixSocketAccess(_ config: BalancerConfig) -> UnixSocketPath.Access {
        let owner = config.unixOwner.flatMap { try? UnixSocketAccess.owner($0) }
        return UnixSocketPath.Access(mode: config.unixMode.map(UInt32.init), user: owner?.user, group: owner?.group)
    }

    /// `--log-connections`: one `connection` line per record, and a warning for records dropped.
    static func connectionLogger(services: [String], nodes: [String], logger: Logger)
        -> @Sendable (ConnectionRecord, Int) -> Void
    {
        { record, dropped in
            if dropped > 0 {
                logger.warning("connection log: \(dropped) records dropped (a worker's ring was full)")
                return
            }
            let ending: String
            switch record.ending {
            case .closed: ending = "closed"
            case .reset: ending = "reset"
            case .noNode: ending = "no_node"
            }
            let node = record.node >= 0 ? nodes[Int(record.node)] : "-"
            let metadata: Logger.Metadata = [
                "service": "\(services[Int(record.service)])", "node": "\(node)", "duration_ms": "\(record.durationMs)",
                "bytes_up": "\(record.bytesUp)", "bytes_down": "\(record.bytesDown)", "end": "\(ending)",
            ]
            logger.info("connection", metadata: metadata)
        }
    }

    /// What the probe loop probes and how, when active health is on.
    struct ProbePlan {
        var targets: [HealthChecker.Target]
        var settings: ProbeSettings
        var timing: HealthChecker.Timing
    }

    /// The probe's HTTPS settings (the group check uses them too); nil: plain HTTP.
    static func probeTLS(of config: BalancerConfig) -> ProbeSettings.TLS? {
        config.health.tls.map {
            ProbeSettings.TLS(
                caFile: $0.caFile, certificateFile: $0.certificateFile, keyFile: $0.keyFile, serverName: $0.serverName,
                insecure: $0.insecure
            )
        }
    }

    /// The probe loop's targets (every node's health port, and each service's own port with scope `service`),
    /// settings and timing; nil with active health off.
    ///
    /// - Throws: `BalancerError` when the TLS files cannot be used.
    static func probePlan(of config: BalancerConfig) throws(BalancerError) -> ProbePlan? {
        let h = config.health
        guard h.enabled else { return nil }
        let healthPort = h.port ?? (config.services.first { $0.name == "p2p" } ?? config.services[0]).nodePort
        var targets: [HealthChecker.Target] = []
        for (n, node) in config.nodes.enumerated() {
            let host = node.host
            targets.append(.init(node: n, host: host, port: healthPort))
            if h.scope == .service {
                for (s, service) in config.services.enumerated() where service.nodePort != healthPort {
                    targets.append(.init(node: n, host: host, port: service.nodePort, service: s, serviceName: service.name))
                }
            }
        }
        let settings = ProbeSettings(
            path: h.path, expectStatus: h.expectStatus, expectBody: h.expectBody, timeoutMs: h.timeoutMs,
            tls: probeTLS(of: config)
        )
        do {
            try Prober.validate(settings)
        } catch {
            throw BalancerError("health probe TLS settings: \(error)")
        }
        return ProbePlan(
            targets: targets,
            settings: settings,
            timing: .init(
                intervalMs: h.intervalMs, fastIntervalMs: h.fastIntervalMs, rise: h.rise, fall: h.fall,
                startUp: h.initialState == .up
            )
        )
    }

    /// `name=ADDR:PORT ...`, as the start and reload log lines list the listeners.
    static func listening(_ plan: ForwardingPlan, ports: [Int], config: BalancerConfig) -> String {
        zip(plan.services, ports).map { service, port in
            service.listenAddress.family == .unix
                ? "\(service.name)=\(service.listenAddress)" : "\(service.name)=\(Self.host(config.listenAddress)):\(port)"
        }.joined(separator: " ")
    }

    /// An address as it goes before `:PORT` (IPv6 in brackets).
    static func host(_ address: String) -> String {
        address.contains(":") ? "[\(address)]" : address
    }

    static func cores() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// The probe loop running as a task of its own.
final class HealthRun: Sendable {
    let checker: HealthChecker
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let finished = DispatchSemaphore(value: 0)

    init(_ checker: HealthChecker) {
        self.checker = checker
    }

    func start() {
        let checker = self.checker
        let finished = self.finished
        task.withLock { $0 = checker.start { finished.signal() } }
    }

    /// Ends the loop without waiting for it.
    func cancel() {
        task.withLock { $0 }?.cancel()
    }

    /// Ends the loop and waits (at most `timeoutMs`) until it has: no verdict of its changes a node afterwards.
    /// Call from a thread of its own, never from a task (the loop ends on its own thread, but closing its
    /// HTTP client may need the cooperative threads).
    func stop(waitingAtMost timeoutMs: Int) {
        guard let task = task.withLock({ $0 }) else { return }
        task.cancel()
        _ = finished.wait(timeout: .now() + .milliseconds(timeoutMs))
    }
}

/// Why the balancer could not start, or a reload could not be applied; the message is one line for the operator.
public struct BalancerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
