public import LBBalancing
public import LBSystem

/// How bytes move between the two sockets of a connection.
public enum ForwardingMode: String, Sendable, CaseIterable {
    /// splice(2) socket -> pipe -> socket; copy when no pipe can be had.
    case splice
    /// read(2)/write(2) through a pooled user-space buffer.
    case copy
    /// Per direction: copy while messages are small, splice once a direction carries bulk (a read fills the
    /// whole copy buffer), back to copy when a burst is small again.
    case auto
}

/// Everything the workers need, resolved: addresses, shared node state, limits. Immutable once built.
public struct ForwardingPlan: Sendable {
    /// One balanced service: where it listens, and the address of each node for it (index = node index).
    public struct Service: Sendable {
        public let name: String
        public let listenAddress: SocketAddress
        public let nodeAddresses: [SocketAddress]
        /// The clients admitted (`--allow`); nil admits everyone. Others are closed at accept.
        public let allow: [AddressRange]?

        public init(name: String, listenAddress: SocketAddress, nodeAddresses: [SocketAddress], allow: [AddressRange]? = nil) {
            self.name = name
            self.listenAddress = listenAddress
            self.nodeAddresses = nodeAddresses
            self.allow = allow
        }
    }

    public let services: [Service]
    /// Shared with the health loop and the status page; index = node index.
    public let nodes: [NodeState]
    public let workers: Int
    public let balance: BalanceAlgorithm
    public let maxConnections: Int
    public let connectTimeoutMs: Int64
    /// 0 = no idle timeout.
    public let idleTimeoutMs: Int64
    public let passiveHealth: PassiveHealth
    public let mode: ForwardingMode
    public let pipeSize: Int
    /// TCP_USER_TIMEOUT on node sockets (0: kernel default).
    public let nodeUserTimeoutMs: Int
    /// Keepalive idle seconds on node sockets (0: off).
    public let nodeKeepaliveSeconds: Int
    /// With every node unavailable, try the least recently failed one instead of closing the client.
    public let allDownFallback: Bool
    /// Close a node's open connections when it is marked down (HAProxy's shutdown-sessions).
    public let closeSessionsOnMarkDown: Bool
    /// Called (rarely, off the per-event path) with one line worth logging: pipe budget spent, EMFILE...
    public let notice: @Sendable (String) -> Void
    /// `--log-connections`: called on the engine's log thread with each ended connection's record, and with
    /// the number of records dropped because a worker's ring was full (0 when none were). Nil: no records.
    public let connectionLog: (@Sendable (ConnectionRecord, _ dropped: Int) -> Void)?
    /// io_uring's ring copy mover: provided 16 KiB buffers per worker (a power of two).
    public let ringBuffers: Int
    /// `--freebind`: listeners may bind an address this host does not hold yet (IP_FREEBIND).
    public let freeBind: Bool
    /// Mode and owner of unix-socket listeners' files.
    public let unixSocketAccess: UnixSocketPath.Access
    /// `--mirror-partyinfo`: the index of the service (`p2p`) whose `POST /partyinfo` requests are mirrored to
    /// the other nodes (`PartyinfoMirror`); nil for none.
    public let mirrorService: Int?

    public init(
        services: [Service],
        nodes: [NodeState],
        workers: Int,
        balance: BalanceAlgorithm = .roundrobin,
        maxConnections: Int = 16_384,
        connectTimeoutMs: Int64 = 2_000,
        idleTimeoutMs: Int64 = 0,
        passiveHealth: PassiveHealth = PassiveHealth(maxFails: 3, failTimeoutMs: 5_000),
        mode: ForwardingMode = .auto,
        pipeSize: Int = 262_144,
        nodeUserTimeoutMs: Int = 10_000,
        nodeKeepaliveSeconds: Int = 30,
        allDownFallback: Bool = false,
        closeSessionsOnMarkDown: Bool = true,
        notice: @escaping @Sendable (String) -> Void = { _ in },
        connectionLog: (@Sendable (ConnectionRecord, _ dropped: Int) -> Void)? = nil,
        ringBuffers: Int = 512,
        freeBind: Bool = false,
        unixSocketAccess: UnixSocketPath.Access = .init(),
        mirrorService: Int? = nil
    ) {
        precondition(ringBuffers > 0 && ringBuffers & (ringBuffers - 1) == 0, "ringBuffers must be a power of two")
        precondition(nodes.count <= 64, "at most 64 nodes")
        self.services = services
        self.nodes = nodes
        self.workers = workers
        self.balance = balance
        self.maxConnections = maxConnections
        self.connectTimeoutMs = connectTimeoutMs
        self.idleTimeoutMs = idleTimeoutMs
        self.passiveHealth = passiveHealth
        self.mode = mode
        self.pipeSize = pipeSize
        self.nodeUserTimeoutMs = nodeUserTimeoutMs
        self.nodeKeepaliveSeconds = nodeKeepaliveSeconds
        self.allDownFallback = allDownFallback
        self.closeSessionsOnMarkDown = closeSessionsOnMarkDown
        self.notice = notice
        self.connectionLog = connectionLog
        self.ringBuffers = ringBuffers
        self.freeBind = freeBind
        self.unixSocketAccess = unixSocketAccess
        self.mirrorService = mirrorService
    }
}
