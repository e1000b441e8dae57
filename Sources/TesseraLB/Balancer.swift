public import LBBalancing
public import LBConfig
public import LBForwarding
public import Logging
public import LBHealth
import LBSystem
import Glibc
import Synchronization

/// A running tessera-lb: the configuration resolved into addresses and shared node state, and the engine
/// that forwards. Start it, stop it; the command line and the tests go through this type.
public final class Balancer: @unchecked Sendable {
    public let config: BalancerConfig
    /// Shared node state, in the configuration's node order.
    public let nodes: [NodeState]
    public let engine: ForwardingEngine
    /// Why the engine in use was chosen (logged at start).
    public let engineReason: String
    /// The probe loop, when active health is on.
    public let health: HealthChecker?
    private let healthTask = Mutex<Task<Void, Never>?>(nil)
    private let logger: Logger

    /// Resolves every node's host name and builds the engine (nothing listens yet).
    ///
    /// - Throws: `BalancerError` naming the node whose host does not resolve, or a bad listen address.
    public init(config: BalancerConfig, logger: Logger = Logger(label: "tessera-lb")) throws(BalancerError) {
        self.config = config
        self.logger = logger
        var hosts: [SocketAddress] = []
        for node in config.nodes {
            do {
                guard let first = try SocketAddress.resolve(host: node.host, port: 0).first else {
                    throw SystemError("getaddrinfo(\(node.host))", errno: ENOENT)
                }
                hosts.append(first)
            } catch {
                throw BalancerError("node \(node.name): host \"\(node.host)\" does not resolve (\(error))")
            }
        }
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
                ForwardingPlan.Service(name: service.name, listenAddress: listen, nodeAddresses: hosts.map { $0.withPort(service.nodePort) })
            )
        }
        let startUp = !config.health.enabled || config.health.initialState == .up
        nodes = config.nodes.map { NodeState(name: $0.name, initiallyUp: startUp) }
        let plan = ForwardingPlan(
            services: services,
            nodes: nodes,
            workers: config.workers ?? Self.cores(),
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
            notice: { [logger] line in logger.warning("\(line)") }
        )
        let (engine, reason) = try Self.makeEngine(plan: plan, choice: config.engine)
        self.engine = engine
        self.engineReason = reason
        health = try Self.makeHealthChecker(config: config, nodes: nodes, logger: logger) {
            engine.nodesChanged()
        }
    }

    /// The engine `choice` asks for: io_uring if the probe finds it works here (`auto` falls back to epoll
    /// when it does not, `io_uring` refuses to start), else epoll. Returns the engine and why.
    static func makeEngine(plan: ForwardingPlan, choice: BalancerConfig.EngineChoice) throws(BalancerError)
        -> (ForwardingEngine, String)
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

    /// The probe loop over every node's health port (and each service's own port with scope `service`).
    private static func makeHealthChecker(
        config: BalancerConfig,
        nodes: [NodeState],
        logger: Logger,
        onChange: @escaping @Sendable () -> Void
    ) throws(BalancerError) -> HealthChecker? {
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
        let tls = h.tls.map {
            ProbeSettings.TLS(
                caFile: $0.caFile, certificateFile: $0.certificateFile, keyFile: $0.keyFile, serverName: $0.serverName,
                insecure: $0.insecure
            )
        }
        let settings = ProbeSettings(
            path: h.path, expectStatus: h.expectStatus, expectBody: h.expectBody, timeoutMs: h.timeoutMs, tls: tls
        )
        do {
            try Prober.validate(settings)
        } catch {
            throw BalancerError("health probe TLS settings: \(error)")
        }
        return HealthChecker(
            nodes: nodes,
            targets: targets,
            settings: settings,
            timing: .init(
                intervalMs: h.intervalMs, fastIntervalMs: h.fastIntervalMs, rise: h.rise, fall: h.fall,
                startUp: h.initialState == .up
            ),
            logger: logger,
            onChange: onChange
        )
    }

    /// Opens the listeners and starts forwarding.
    ///
    /// - Throws: `BalancerError` naming the listener that could not be opened.
    public func start() throws(BalancerError) {
        do {
            try engine.start()
        } catch {
            throw BalancerError("cannot listen: \(error)")
        }
        if let health {
            healthTask.withLock { $0 = Task.detached { await health.run() } }
        }
        let plan = engine.plan
        let listening = zip(plan.services, engine.listeningPorts).map { service, port in
            service.listenAddress.family == .unix ? "\(service.name)=\(service.listenAddress)" : "\(service.name)=\(config.listenAddress):\(port)"
        }
        logger.info(
            "forwarding",
            metadata: [
                "engine": "\(engine.name)", "why": "\(engineReason)", "workers": "\(plan.workers)", "forward": "\(plan.mode.rawValue)",
                "balance": "\(plan.balance.rawValue)", "listen": "\(listening.joined(separator: " "))",
                "nodes": "\(config.nodes.map { "\($0.name)=\($0.host)" }.joined(separator: " "))",
            ]
        )
    }

    /// The port each service listens on, in configuration order.
    public var listeningPorts: [Int] { engine.listeningPorts }

    /// Graceful stop: closes the listeners (no new connections), then waits up to `timeoutMs` for open
    /// connections to finish. Returns how many were still open when it gave up (0: all finished).
    @discardableResult
    public func drain(timeoutMs: Int) -> Int {
        engine.stopAccepting()
        let deadline = MonotonicClock.nowMilliseconds() + Int64(timeoutMs)
        while engine.openConnections > 0 && MonotonicClock.nowMilliseconds() < deadline {
            usleep(20_000)
        }
        return engine.openConnections
    }

    /// Stops accepting, closes every connection and joins the workers.
    public func stop() {
        // The probe loop ends on its own once cancelled (it closes its HTTP client itself). Not waited for:
        // blocking here could starve the cooperative threads that task needs.
        healthTask.withLock { $0 }?.cancel()
        engine.stop()
    }

    static func cores() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// Why the balancer could not start; the message is one line for the operator.
public struct BalancerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
