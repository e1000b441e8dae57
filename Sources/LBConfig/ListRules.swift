/// Rules that span a whole node or service list. Each list comes wholly from one source (flags replace the
/// file's list), so the entry at fault can always be named.
enum ListRules {
    /// The balancer records the nodes a connection has tried in a 64-bit mask.
    static let maxNodes = 64
    /// Each worker's io_uring queues four accepts per service before it can submit anything (RingEvents), and
    /// the kernel's submission queue holds at most 32768 entries: 8000 services leave room and are far beyond
    /// any real group.
    static let maxServices = 8_000

    /// At most `maxNodes` nodes, with unique names. `list` names the list as a whole.
    static func checkNodes(_ nodes: [(node: BalancerConfig.Node, given: GivenValue)], list: GivenValue) throws(ConfigError) {
        guard nodes.count <= maxNodes else {
            throw list.error("\(nodes.count) nodes given; at most \(maxNodes) are supported")
        }
        try requireUnique(nodes.map { ($0.node.name, $0.given) }) { name, earlier in
            "node name \(name.debugDescription) is already used by \(earlier)"
        }
    }

    /// At least one service and at most `maxServices`, with unique names, unique listen ports and unique socket paths. `listen` is the
    /// value that gave the listen port, or the socket path of a unix-socket service.
    static func checkServices(
        _ services: [(service: BalancerConfig.Service, name: GivenValue, listen: GivenValue)],
        list: GivenValue
    ) throws(ConfigError) {
        guard !services.isEmpty else { throw list.error("at least one service is required") }
        guard services.count <= maxServices else {
            throw list.error("\(services.count) services given; at most \(maxServices) are supported")
        }
        try requireUnique(services.map { ($0.service.name, $0.name) }) { name, earlier in
            "service name \(name.debugDescription) is already used by \(earlier)"
        }
        // A unix-socket service has no listen port (it is 0), so only TCP services compete for ports.
        let tcp = services.filter { $0.service.listenPath == nil }
        try requireUnique(tcp.map { ($0.service.listenPort, $0.listen) }) { port, earlier in
            "listen port \(port) is already used by \(earlier)"
        }
        let unix = services.compactMap { entry in entry.service.listenPath.map { ($0, entry.listen) } }
        try requireUnique(unix) { path, earlier in
            "socket path \(path.debugDescription) is already used by \(earlier)"
        }
    }

    /// Throws at the first entry whose key an earlier entry already has; `problem` gets the earlier entry's
    /// reference as the error about the later one shows it.
    private static func requireUnique<Key: Hashable>(
        _ entries: [(key: Key, given: GivenValue)],
        _ problem: (Key, String) -> String
    ) throws(ConfigError) {
        var seen: [Key: GivenValue] = [:]
        for (key, given) in entries {
            if let earlier = seen[key] { throw given.error(problem(key, earlier.reference(from: given))) }
            seen[key] = given
        }
    }
}
