public import Foundation
import LBBalancing
import LBForwarding
public import LBGroup
import LBHealth
import Synchronization

/// What `GET /status` answers and the status page shows: the balancer, each node and service with its state,
/// the reason and since when, the traffic, and the recent transitions. `tessera-lb ctl status` decodes it.
public struct StatusReport: Sendable, Codable {
    public struct Connections: Sendable, Codable {
        public var open: Int
        public var accepted: Int
        public var max: Int
        public var acceptedPerSecond: Double
        /// Clients closed because no node could take them.
        public var noNode: Int
        public var connectFailures: Int
        public var retries: Int
        public var closedOnMarkDown: Int
        /// Clients closed at accept because their service's allowlist does not admit them.
        public var refusedByAllowlist: Int
    }

    public struct Traffic: Sendable, Codable {
        /// Client to node.
        public var bytesUp: Int
        /// Node to client.
        public var bytesDown: Int
        public var bytesUpPerSecond: Double
        public var bytesDownPerSecond: Double
    }

    public struct Probe: Sendable, Codable {
        public var port: Int
        /// Set for a service's own probe (health scope `service`).
        public var service: String?
        public var up: Bool
        public var lastResult: String?
        public var lastGood: Date?
        public var since: Date
        /// How long the last probe took, seconds.
        public var lastDuration: Double?
    }

    /// What went through a node (for one service, or all together) since the balancer started.
    public struct NodeTraffic: Sendable, Codable {
        /// Connections established to the node.
        public var connections: Int
        /// Client to node.
        public var bytesUp: Int
        /// Node to client.
        public var bytesDown: Int
        /// Connects to the node made after another node failed for the same client.
        public var retries: Int

        init(_ counts: ServiceNodeCounters.Counts) {
            connections = counts[.connections]
            bytesUp = counts[.bytesUp]
            bytesDown = counts[.bytesDown]
            retries = counts[.retries]
        }
    }

    public struct Node: Sendable, Codable {
        public var name: String
        public var host: String
        public var state: NodeStateName
        public var reason: String
        public var since: Date
        /// What an operator set: `enabled`, `draining` or `disabled`.
        public var admin: String
        /// The probe's verdict (true without probes).
        public var markedUp: Bool
        /// Open connections to the node, all services together.
        public var activeConnections: Int
        public var connectFailures: Int
        /// All services together.
        public var traffic: NodeTraffic
        /// State changes seen since the admin listener started.
        public var stateChanges: Int
        public var probes: [Probe]
    }

    public struct ServiceNode: Sendable, Codable {
        public var name: String
        public var state: NodeStateName
        public var reason: String
        public var since: Date
        /// This service's connections to the node.
        public var traffic: NodeTraffic
        public var connectFailures: Int
    }

    public struct Service: Sendable, Codable {
        public var name: String
        public var listen: String
        public var nodePort: Int
        /// Nodes taking this service's new connections now.
        public var available: Int
        public var nodes: [ServiceNode]
    }

    /// What the group check found: whether the nodes agree on their keys, version and partyinfo.
    public struct Group: Sendable, Codable {
        /// False while the check is off (`groupCheckIntervalMs` 0): then nothing below says anything.
        public var enabled: Bool
        public var consistent: Bool
        public var problems: [GroupProblem]
        /// Nodes the hold-out policy keeps from new connections.
        public var heldOut: [String]
        /// When the last check finished; nil before the first.
        public var checkedAt: Date?
    }

    /// Partyinfo mirroring on the `p2p` service (`--mirror-partyinfo`), counted since the start.
    public struct Mirror: Sendable, Codable {
        /// Whether it is on (and there is a `p2p` service).
        public var enabled = false
        /// `POST /partyinfo` requests seen whole.
        public var requests = 0
        /// Copies the other nodes answered with 2xx.
        public var copies = 0
        /// Copies that failed: no connection, no whole answer within 3750 ms, another status.
        public var failed = 0
        /// Requests not mirrored because a bound was reached (queue full, too large).
        public var dropped = 0
        /// P2P connections that are not plain HTTP/1.x (TLS...): forwarded untouched, never mirrored.
        public var unframed = 0
    }

    public var generatedAt: Date
    public var startedAt: Date
    public var version: String
    public var engine: String
    public var forward: String
    public var balance: String
    public var workers: Int
    public var health: Bool
    public var connections: Connections
    public var traffic: Traffic
    public var nodes: [Node]
    public var services: [Service]
    /// Newest first.
    public var transitions: [StateHistory.Transition]
    public var group: Group
    public var mirror: Mirror

    /// Reads everything now.
    static func read(_ view: BalancerView, history: StateHistory, now: Date = Date()) -> StatusReport {
        let seen = history.observe(view: view, now: now)
        let totals = WorkerTotals(view.counters())
        let reports = view.healthEnabled ? view.probeReport() : []
        let nodes = view.nodes.enumerated().map { n, node in
            Node(
                name: node.state.name,
                host: node.host,
                state: seen.nodes[n].condition.state,
                reason: seen.nodes[n].condition.reason,
                since: seen.nodes[n].since,
                admin: node.state.adminState.name,
                markedUp: node.state.isMarkedUp,
                activeConnections: node.state.activeConnections.load(ordering: .relaxed),
                connectFailures: node.state.connectFailures.load(ordering: .relaxed),
                traffic: NodeTraffic(totals.node(node.state.name)),
                stateChanges: seen.changes[n],
                probes: reports.filter { $0.target.node == n }.map {
                    Probe(
                        port: $0.target.port, service: $0.target.serviceName, up: $0.isUp,
                        lastResult: $0.lastResult?.description, lastGood: $0.lastGood, since: $0.since,
                        lastDuration: $0.latency.last
                    )
                }
            )
        }
        let services = view.services.enumerated().map { s, service in
            let states = seen.services[s]
            return Service(
                name: service.name,
                listen: service.listen,
                nodePort: service.nodePort,
                available: states.filter { $0.condition.state == .up }.count,
                nodes: states.enumerated().map { n, held in
                    let counts = totals.serviceNodes[.init(service: service.name, node: view.nodes[n].state.name)] ?? .init()
                    return ServiceNode(
                        name: view.nodes[n].state.name, state: held.condition.state, reason: held.condition.reason,
                        since: held.since, traffic: NodeTraffic(counts), connectFailures: counts[.connectFailures]
                    )
                }
            )
        }
        return StatusReport(
            generatedAt: now,
            startedAt: history.startedAt,
            version: BuildInfo.version,
            engine: view.engine,
            forward: view.forwardingMode.rawValue,
            balance: view.balance.rawValue,
            workers: view.workers,
            health: view.healthEnabled,
            connections: Connections(
                open: view.openConnections(), accepted: totals.accepted, max: view.maxConnections,
                acceptedPerSecond: seen.rates.accepted, noNode: totals.noNode, connectFailures: totals.connectFailures,
                retries: totals.retries, closedOnMarkDown: totals.closedOnMarkDown,
                refusedByAllowlist: totals.refusedByAllowlist
            ),
            traffic: Traffic(
                bytesUp: totals.bytesUp, bytesDown: totals.bytesDown, bytesUpPerSecond: seen.rates.bytesUp,
                bytesDownPerSecond: seen.rates.bytesDown
            ),
            nodes: nodes,
            services: services,
            transitions: seen.transitions,
            group: view.groupReport().map {
                Group(enabled: true, consistent: $0.consistent, problems: $0.problems, heldOut: $0.heldOut, checkedAt: $0.checkedAt)
            } ?? Group(enabled: false, consistent: true, problems: [], heldOut: [], checkedAt: nil),
            mirror: { var mirror = totals.mirror; mirror.enabled = view.mirrorPartyinfo; return mirror }()
        )
    }

    /// The JSON encoding: ISO 8601 dates, sorted keys, indented.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The matching decoder.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// What this build is.
public enum BuildInfo {
    /// The release version; `dev` for a build from a work tree (no release has been cut).
    public static let version = "dev"
}
