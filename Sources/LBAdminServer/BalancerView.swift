public import LBBalancing
public import LBForwarding
public import LBHealth
public import LBGroup

/// What the admin listener sees of a running balancer and the one thing it may change: a node's operator
/// state. Every reading is of atomics or of the probe loop's report, taken when asked (no locks on the data
/// path). `TesseraLB` builds one from a `Balancer`; tests build one from bare `NodeState`s and counters.
public struct BalancerView: Sendable {
    /// A balanced service.
    public struct Service: Sendable {
        public let name: String
        /// Where it listens, `ADDR:PORT` or `unix:PATH`.
        public let listen: String
        /// The port it forwards to on every node.
        public let nodePort: Int

        public init(name: String, listen: String, nodePort: Int) {
            self.name = name
            self.listen = listen
            self.nodePort = nodePort
        }
    }

    /// A node: its shared state (index = node index) and its host as configured.
    public struct Node: Sendable {
        public let state: NodeState
        public let host: String

        public init(state: NodeState, host: String) {
            self.state = state
            self.host = host
        }
    }

    public var services: [Service]
    public var nodes: [Node]
    /// `epoll` or `io_uring`.
    public var engine: String
    public var forwardingMode: ForwardingMode
    public var balance: BalanceAlgorithm
    public var workers: Int
    public var maxConnections: Int
    /// Whether the probe loop runs (else nodes are up unless failed out or set by hand).
    public var healthEnabled: Bool
    /// The workers' counters; read only after the engine started and before it stops.
    public var counters: @Sendable () -> [WorkerCounters]
    /// Open client connections across all workers.
    public var openConnections: @Sendable () -> Int
    /// What each probe target saw last; empty without probes.
    public var probeReport: @Sendable () -> [HealthChecker.Report]
    /// Tells the workers that node states changed, so a disabled node's connections are dealt with at once.
    public var nodesChanged: @Sendable () -> Void
    /// False once the balancer stopped accepting (draining on SIGTERM).
    public var isAccepting: @Sendable () -> Bool
    /// True from SIGTERM on: during the accept grace the balancer still accepts but is no longer ready.
    public var isStopping: @Sendable () -> Bool
    /// What the last group check found; nil when the check is off.
    public var groupReport: @Sendable () -> GroupChecker.Report?
    /// Whether `POST /partyinfo` on the `p2p` service is mirrored to the other nodes.
    public var mirrorPartyinfo: Bool

    public init(
        services: [Service],
        nodes: [Node],
        engine: String,
        forwardingMode: ForwardingMode,
        balance: BalanceAlgorithm,
        workers: Int,
        maxConnections: Int,
        healthEnabled: Bool,
        counters: @escaping @Sendable () -> [WorkerCounters],
        openConnections: @escaping @Sendable () -> Int,
        probeReport: @escaping @Sendable () -> [HealthChecker.Report],
        nodesChanged: @escaping @Sendable () -> Void,
        isAccepting: @escaping @Sendable () -> Bool = { true },
        isStopping: @escaping @Sendable () -> Bool = { false },
        groupReport: @escaping @Sendable () -> GroupChecker.Report? = { nil },
        mirrorPartyinfo: Bool = false
    ) {
        self.services = services
        self.nodes = nodes
        self.engine = engine
        self.forwardingMode = forwardingMode
        self.balance = balance
        self.workers = workers
        self.maxConnections = maxConnections
        self.healthEnabled = healthEnabled
        self.counters = counters
        self.openConnections = openConnections
        self.probeReport = probeReport
        self.nodesChanged = nodesChanged
        self.isAccepting = isAccepting
        self.isStopping = isStopping
        self.groupReport = groupReport
        self.mirrorPartyinfo = mirrorPartyinfo
    }

    /// The index of the node called `name`.
    public func nodeIndex(named name: String) -> Int? {
        nodes.firstIndex { $0.state.name == name }
    }
}
