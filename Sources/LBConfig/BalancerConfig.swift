public import LBBalancing

/// Everything the balancer needs to run, validated. Built from defaults, then a config file, then flags
/// (later sources override earlier ones); see docs/configuration.md.
public struct BalancerConfig: Sendable, Equatable {
    /// One Tessera node: reachable at `host` on every service's node port.
    public struct Node: Sendable, Equatable {
        /// IPv4 or IPv6 literal, or a host name (resolved at start).
        public var host: String
        /// A short name for logs and status (defaults to the host).
        public var name: String

        public init(host: String, name: String? = nil) {
            self.host = host
            self.name = name ?? host
        }
    }

    /// One balanced service: a listener and the port it forwards to on every node.
    public struct Service: Sendable, Equatable {
        public var name: String
        /// The TCP port the service listens on (on `listenAddress`); unused when `listenPath` is set.
        public var listenPort: Int
        public var nodePort: Int
        /// A unix-socket path to listen on instead of a TCP port (GoQuorum's `tm.ipc`); forwarded to the
        /// nodes' TCP `nodePort`.
        public var listenPath: String?
        /// Who may connect (`--allow`): addresses, networks (`ADDRESS/PREFIX`) and host names; nil admits
        /// everyone. A client from elsewhere is closed at accept and never reaches a node.
        public var allow: [String]?

        public init(name: String, listenPort: Int, nodePort: Int? = nil, listenPath: String? = nil, allow: [String]? = nil) {
            self.name = name
            self.listenPort = listenPort
            self.nodePort = nodePort ?? listenPort
            self.listenPath = listenPath
            self.allow = allow
        }
    }

    /// Active health: the probe loop's `GET /upcheck` on each node (see docs/health.md).
    public struct Health: Sendable, Equatable {
        /// Whether to probe at all; off leaves only passive health (failed connects).
        public var enabled = true
        /// The node port probed; nil means the node port of the service named `p2p` (else the first service).
        public var port: Int? = nil
        public var path = "/upcheck"
        public var expectStatus = 200
        /// Text the body must contain; empty turns the body check off.
        public var expectBody = "I'm up!"
        public var intervalMs = 1_000
        /// The interval while a node is changing state (HAProxy's fastinter).
        public var fastIntervalMs = 300
        /// Covers connect, request and the whole response.
        public var timeoutMs = 1_000
        public var rise = 2
        public var fall = 2
        /// `up`: nodes start up and the first failed probe takes them out; `down`: out until `rise` successes.
        public var initialState: InitialState = .up
        /// `node`: one probe per node (the P2P port) decides for every service; `service`: each service's own
        /// port is probed too, and its failure takes the node out of that service only.
        public var scope: Scope = .node
        /// What happens to open connections of a node marked down.
        public var onMarkedDown: OnMarkedDown = .shutdownSessions
        /// HTTPS for nodes whose P2P server uses TLS (Tessera's sslConfig); nil is plain HTTP.
        public var tls: TLS? = nil

        public enum InitialState: String, Sendable, CaseIterable { case up, down }
        public enum Scope: String, Sendable, CaseIterable { case node, service }
        public enum OnMarkedDown: String, Sendable, CaseIterable {
            /// Close them, so pooled clients reconnect to a healthy node (HAProxy's shutdown-sessions).
            case shutdownSessions = "shutdown-sessions"
            /// Leave them; TCP_USER_TIMEOUT and keepalive still bound a dead node's connections.
            case keep
        }

        /// Probe TLS: trust, client certificate for mutual TLS, and the name to verify.
        public struct TLS: Sendable, Equatable {
            public var caFile: String? = nil
            public var certificateFile: String? = nil
            public var keyFile: String? = nil
            /// SNI and verification name (the certificate is usually issued for the advertised address).
            public var serverName: String? = nil
            /// Skip certificate verification (testing only).
            public var insecure = false
            public init() {}
        }

        public init() {}
    }

    /// How bytes move between the two sockets of a connection.
    public enum ForwardMode: String, Sendable, CaseIterable, Codable {
        /// splice(2) through a kernel pipe; falls back to copy when no pipe can be had.
        case splice
        /// read(2)/write(2) through a user-space buffer.
        case copy
        /// Per direction: copy for small messages, splice once a direction carries bulk data.
        case auto
    }

    /// The event engine the forwarding workers run on.
    public enum EngineChoice: String, Sendable, CaseIterable, Codable {
        case epoll
        case ioUring = "io_uring"
        /// io_uring where the kernel allows it and has what the engine needs, else epoll.
        case auto
    }

    /// Tessera's three servers, each forwarded to the same port on the node.
    public static let defaultServices: [Service] = [
        Service(name: "p2p", listenPort: 9000),
        Service(name: "thirdparty", listenPort: 9080),
        Service(name: "q2t", listenPort: 9101),
    ]

    public var nodes: [Node] = []
    /// The address every listener binds (`0.0.0.0`, `::`, `127.0.0.1`...).
    public var listenAddress: String = "0.0.0.0"
    public var services: [Service] = BalancerConfig.defaultServices
    /// Forwarding worker threads; nil means one per core.
    public var workers: Int? = nil
    public var balance: BalanceAlgorithm = .roundrobin
    /// Open client connections across all workers; new ones wait in the accept queue beyond it.
    public var maxConnections: Int = 16_384
    /// Connect timeout to a node, milliseconds.
    public var connectTimeoutMs: Int = 2_000
    /// Idle timeout of an established connection, milliseconds; 0 is off. Ten minutes, nginx stream's
    /// `proxy_timeout`: far above Jetty's 30 s idle close of pooled keep-alive connections (and GoQuorum's 10 s),
    /// so it never cuts a connection Tessera or GoQuorum keeps, yet a silent client cannot hold a slot for ever.
    public static let defaultIdleTimeoutMs = 600_000
    public var idleTimeoutMs: Int = defaultIdleTimeoutMs
    /// Failed connects within `failTimeoutMs` that take a node out (nginx's max_fails); 0 turns this off.
    public var maxFails: Int = 3
    /// The window for `maxFails` and how long a node stays out (nginx's fail_timeout), milliseconds.
    public var failTimeoutMs: Int = 5_000
    public var forward: ForwardMode = .auto
    public var engine: EngineChoice = .auto
    /// io_uring's ring copy mover: provided 16 KiB buffers per worker, a power of two. Not a setting of the
    /// file, flags or environment: tests make it small to run the buffers dry.
    public var ringBuffers: Int = 512
    /// Pipe capacity asked for with F_SETPIPE_SZ, bytes.
    public var pipeSize: Int = 262_144
    public var health = Health()
    /// TCP_USER_TIMEOUT on node sockets, milliseconds (0: kernel default): unacknowledged data to a node that
    /// vanished fails the connection in bounded time.
    public var nodeUserTimeoutMs: Int = 10_000
    /// TCP keepalive on node sockets: idle seconds before the first probe (0: off).
    public var nodeKeepaliveSeconds: Int = 30
    /// On SIGTERM or SIGINT: how long open connections may go on finishing, milliseconds.
    public var drainTimeoutMs: Int = 30_000
    /// After a reload: how long the previous configuration's open connections may go on, milliseconds (0: until
    /// they end, as nginx and HAProxy without `hard-stop-after` let them).
    public var reloadHardStopAfterMs: Int = 0
    /// With every node down: `refuse` new clients at once, or send them to the least recently failed node.
    public var allDown: AllDownPolicy = .refuse
    /// Listeners may bind an address this host does not hold yet (IP_FREEBIND): the standby of a pair behind a
    /// floating address listens on it before keepalived moves it here.
    public var freebind: Bool = false
    /// On SIGTERM or SIGINT: how long to report not-ready while still accepting, before the listeners close and
    /// the drain begins, milliseconds. Time for keepalived or a Kubernetes Service to move new clients away.
    public var acceptGraceMs: Int = 0
    /// How often the group check asks every node for its keys, version and partyinfo, milliseconds; 0 is off.
    public var groupCheckIntervalMs: Int = 30_000
    /// What the group check does about a node whose own keys differ from the majority's.
    public var groupPolicy: GroupPolicy = .report
    /// Whether each `POST /partyinfo` on the `p2p` service is also sent to the other nodes that are up
    /// (docs/tessera.md: partyinfo mirroring).
    public var mirrorPartyinfo: Switch = .on

    public enum Switch: String, Sendable, CaseIterable {
        case on
        case off
    }

    public enum GroupPolicy: String, Sendable, CaseIterable {
        case report
        case holdOut = "hold-out"
    }
    /// Permissions of the unix-socket listeners' files; nil leaves what the umask gives.
    public var unixMode: Int? = nil
    /// Owner of the unix-socket listeners' files, `USER[:GROUP]`, `:GROUP` or numbers; nil leaves the balancer's.
    public var unixOwner: String? = nil

    public enum AllDownPolicy: String, Sendable, CaseIterable {
        case refuse
        case leastRecentlyFailed = "least-recently-failed"
    }

    public init() {}
}
