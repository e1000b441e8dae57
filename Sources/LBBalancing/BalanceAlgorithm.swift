/// How a service picks a node for a new connection.
public enum BalanceAlgorithm: String, Sendable, CaseIterable, Codable {
    /// Each worker takes the available nodes in turn.
    case roundrobin
    /// The available node with the fewest open connections (ties go round robin).
    case leastconn
}
