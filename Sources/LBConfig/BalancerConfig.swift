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
        public var listenPort: Int
        public var nodePort: Int

        public init(name: String, listenPort: Int, nodePort: Int? = nil) {
            self.name = name
            self.listenPort = listenPort
            self.nodePort = nodePort ?? listenPort
        }
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
    /// Idle timeout of an established connection, milliseconds; 0 is off (Tessera's clients pool connections).
    public var idleTimeoutMs: Int = 0
    /// Failed connects within `failTimeoutMs` that take a node out (nginx's max_fails); 0 turns this off.
    public var maxFails: Int = 3
    /// The window for `maxFails` and how long a node stays out (nginx's fail_timeout), milliseconds.
    public var failTimeoutMs: Int = 5_000
    public var forward: ForwardMode = .auto
    /// Pipe capacity asked for with F_SETPIPE_SZ, bytes.
    public var pipeSize: Int = 65_536

    public init() {}
}
