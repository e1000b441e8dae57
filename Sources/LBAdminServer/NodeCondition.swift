import LBBalancing
import LBHealth

/// A node's state as an operator reads it. One word, in order of what wins: an operator's setting, then the
/// probe's verdict, then passive health.
public enum NodeStateName: String, Sendable, Codable, CaseIterable {
    /// Takes new connections.
    case up
    /// Out of the pools: the probe failed `fall` times (or, per service, that service's probe did).
    case down
    /// Out of the pools: `max_fails` failed connects within `fail_timeout`.
    case failedOut = "failed-out"
    /// Set by an operator: no new connections, open ones finish.
    case draining
    /// Set by an operator: out, open connections handled as for a node marked down.
    case disabled
    /// Held out by the group check's policy (its own keys differ from the majority's): no new connections,
    /// open ones finish.
    case heldOut = "held-out"
}

/// A state and the reason for it, as the status page shows them.
struct NodeCondition: Equatable, Sendable {
    var state: NodeStateName
    var reason: String

    /// The node as a whole.
    ///
    /// - Parameters:
    ///   - probe: the node-wide probe target's last report, if probes run.
    ///   - now: monotonic milliseconds on the workers' clock, for passive health.
    static func of(_ node: NodeState, probe: HealthChecker.Report?, healthEnabled: Bool, now: Int64) -> NodeCondition {
        let probeDown = !node.isMarkedUp
        // A node taken out for failed connects is marked down by the probe loop while its last probe was
        // healthy; it comes back only through `rise` good probes.
        let probeReason =
            probe?.lastResult == .healthy && probeDown
            ? "max_fails failed connects; back after rise good probes"
            : probe?.lastResult.map { "probe: \($0.description)" }
        switch node.adminState {
        case .disabled:
            return NodeCondition(state: .disabled, reason: "disabled by operator" + (probeDown ? "; also down (\(probeReason ?? "probe"))" : ""))
        case .draining:
            return NodeCondition(state: .draining, reason: "draining by operator" + (probeDown ? "; also down (\(probeReason ?? "probe"))" : ""))
        case .enabled:
            break
        }
        if probeDown {
            return NodeCondition(state: .down, reason: probeReason ?? "marked down")
        }
        if node.isFailedOut(now: now) {
            return NodeCondition(state: .failedOut, reason: "max_fails failed connects within fail_timeout")
        }
        if node.isHeldOut {
            return NodeCondition(state: .heldOut, reason: "group check: its own keys differ from the majority's")
        }
        guard healthEnabled else { return NodeCondition(state: .up, reason: "probes off") }
        return NodeCondition(state: .up, reason: probe?.lastResult.map { "probe: \($0.description)" } ?? "initial state, not probed yet")
    }

    /// The node for one service: as a whole, unless that service's own probe has it out (health scope
    /// `service`).
    static func of(
        _ node: NodeState, service: Int, nodeWide: NodeCondition, serviceProbe: HealthChecker.Report?
    ) -> NodeCondition {
        guard nodeWide.state == .up, node.isServiceDown(service) else { return nodeWide }
        return NodeCondition(state: .down, reason: serviceProbe?.lastResult.map { "service probe: \($0.description)" } ?? "service probe")
    }
}
