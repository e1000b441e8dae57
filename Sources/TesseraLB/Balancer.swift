public import LBBalancing
public import LBConfig
public import LBForwarding
public import Logging
import LBSystem
import Glibc

/// A running tessera-lb: the configuration resolved into addresses and shared node state, and the engine
/// that forwards. Start it, stop it; the command line and the tests go through this type.
public final class Balancer: @unchecked Sendable {
    public let config: BalancerConfig
    /// Shared node state, in the configuration's node order.
    public let nodes: [NodeState]
    public let engine: EpollEngine
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
        let services = config.services.map { service in
            ForwardingPlan.Service(
                name: service.name,
                listenAddress: SocketAddress(ipLiteral: config.listenAddress, port: service.listenPort)!,
                nodeAddresses: hosts.map { $0.withPort(service.nodePort) }
            )
        }
        nodes = config.nodes.map { NodeState(name: $0.name) }
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
            notice: { [logger] line in logger.warning("\(line)") }
        )
        engine = EpollEngine(plan: plan)
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
        let plan = engine.plan
        let listening = zip(plan.services, engine.listeningPorts).map { "\($0.name)=\(config.listenAddress):\($1)" }
        logger.info(
            "forwarding",
            metadata: [
                "engine": "\(engine.name)", "workers": "\(plan.workers)", "forward": "\(plan.mode.rawValue)",
                "balance": "\(plan.balance.rawValue)", "listen": "\(listening.joined(separator: " "))",
                "nodes": "\(config.nodes.map { "\($0.name)=\($0.host)" }.joined(separator: " "))",
            ]
        )
    }

    /// The port each service listens on, in configuration order.
    public var listeningPorts: [Int] { engine.listeningPorts }

    /// Stops accepting, closes every connection and joins the workers.
    public func stop() {
        engine.stop()
    }

    static func cores() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// Why the balancer could not start; the message is one line for the operator.
public struct BalancerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
