public import Foundation
import LBBalancing
import LBHealth
import LBSystem
import Synchronization

/// Node states over time: since when each holds, the recent transitions and how many there were, and the
/// traffic rates. It learns them by looking: `tick` every 250 ms and `observe` before every answer, so a state
/// that lasted less than that may go unrecorded; the counters themselves are exact.
public final class StateHistory: Sendable {
    /// One change of a node's state, as seen.
    public struct Transition: Sendable, Codable, Equatable {
        public let at: Date
        public let node: String
        /// Set when only this service's pool changed (health scope `service`).
        public let service: String?
        public let from: NodeStateName
        public let to: NodeStateName
        public let reason: String
    }

    /// What `observe` saw: each node's condition and since when, per service too, and the recent past.
    struct Observation: Sendable {
        struct Held: Sendable {
            var condition: NodeCondition
            var since: Date
        }

        /// Index = node index.
        var nodes: [Held]
        /// [service][node].
        var services: [[Held]]
        /// Newest first.
        var transitions: [Transition]
        /// Index = node index.
        var changes: [Int]
        var rates: Rates
    }

    /// Per second, over the last second or so.
    struct Rates: Sendable {
        var accepted = 0.0
        var bytesUp = 0.0
        var bytesDown = 0.0
    }

    private struct Sample {
        var at: Double
        var totals: WorkerTotals
    }

    /// What decides a node's state, in a form that can be compared without allocating.
    private struct Fingerprint: Equatable {
        var markedUp = true
        var admin = AdminState.enabled
        var failedOut = false
        var servicesDown: UInt64 = 0
    }

    private struct State {
        var current: Observation?
        var sample: Sample?
        var fingerprints: [Fingerprint]
    }

    private let view: BalancerView
    private let capacity: Int
    private let state: Mutex<State>
    /// When this history began (the admin server's start).
    public let startedAt: Date

    /// - Parameter capacity: how many transitions to keep.
    public init(view: BalancerView, capacity: Int = 50, startedAt: Date = Date()) {
        self.view = view
        self.capacity = capacity
        self.startedAt = startedAt
        state = Mutex(State(fingerprints: Array(repeating: Fingerprint(), count: view.nodes.count)))
    }

    /// The periodic look: compares what decides each node's state with the last look, in place, and
    /// records (`observe`) only when something changed. So the admin thread does not allocate four times a
    /// second on a quiet balancer.
    func tick() {
        let now = MonotonicClock.nowMilliseconds()
        let changed = state.withLock { state in
            var changed = false
            for n in view.nodes.indices {
                let node = view.nodes[n].state
                var print = Fingerprint(
                    markedUp: node.isMarkedUp, admin: node.adminState, failedOut: node.isFailedOut(now: now), servicesDown: 0
                )
                for s in view.services.indices where s < 64 && node.isServiceDown(s) { print.servicesDown |= 1 << UInt64(s) }
                if state.fingerprints[n] != print {
                    state.fingerprints[n] = print
                    changed = true
                }
            }
            return changed
        }
        if changed { observe() }
    }

    /// Reads every node's state now, records what changed, and returns the picture.
    @discardableResult
    func observe(now: Date = Date()) -> Observation {
        let monotonicNow = MonotonicClock.nowMilliseconds()
        let reports = view.healthEnabled ? view.probeReport() : []
        let totals = WorkerTotals(view.counters())
        let seconds = Double(MonotonicClock.nowNanoseconds()) / 1e9
        let nodeConditions = view.nodes.indices.map { n in
            NodeCondition.of(
                view.nodes[n].state, probe: reports.first { $0.target.node == n && $0.target.service == nil },
                healthEnabled: view.healthEnabled, now: monotonicNow
            )
        }
        let serviceConditions = view.services.indices.map { s in
            view.nodes.indices.map { n in
                NodeCondition.of(
                    view.nodes[n].state, service: s, nodeWide: nodeConditions[n],
                    serviceProbe: reports.first { $0.target.node == n && $0.target.service == s }
                )
            }
        }
        return state.withLock { state in
            var observation = state.current ?? Observation(
                nodes: nodeConditions.indices.map { n in
                    // The probe knows since when a node has been up or down; otherwise count from the start.
                    let probe = reports.first { $0.target.node == n && $0.target.service == nil }
                    let since = nodeConditions[n].state == .up || nodeConditions[n].state == .down ? probe?.since : nil
                    return .init(condition: nodeConditions[n], since: since ?? startedAt)
                },
                services: serviceConditions.map { $0.map { .init(condition: $0, since: startedAt) } },
                transitions: [],
                changes: Array(repeating: 0, count: nodeConditions.count),
                rates: Rates()
            )
            var fresh: [Transition] = []
            var nodeChanged = Array(repeating: false, count: nodeConditions.count)
            for (n, condition) in nodeConditions.enumerated() {
                let held = observation.nodes[n]
                if held.condition.state != condition.state {
                    fresh.append(
                        Transition(
                            at: now, node: view.nodes[n].state.name, service: nil, from: held.condition.state,
                            to: condition.state, reason: condition.reason
                        )
                    )
                    observation.nodes[n].since = now
                    observation.changes[n] += 1
                    nodeChanged[n] = true
                }
                observation.nodes[n].condition = condition
            }
            for (s, conditions) in serviceConditions.enumerated() {
                for (n, condition) in conditions.enumerated() {
                    let held = observation.services[s][n]
                    if held.condition.state != condition.state {
                        if !nodeChanged[n] {
                            fresh.append(
                                Transition(
                                    at: now, node: view.nodes[n].state.name, service: view.services[s].name,
                                    from: held.condition.state, to: condition.state, reason: condition.reason
                                )
                            )
                        }
                        observation.services[s][n].since = now
                    }
                    observation.services[s][n].condition = condition
                }
            }
            observation.transitions = Array((fresh.reversed() + observation.transitions).prefix(capacity))
            if let sample = state.sample {
                let elapsed = seconds - sample.at
                if elapsed >= 1 {
                    observation.rates = Rates(
                        accepted: Double(totals.accepted - sample.totals.accepted) / elapsed,
                        bytesUp: Double(totals.bytesUp - sample.totals.bytesUp) / elapsed,
                        bytesDown: Double(totals.bytesDown - sample.totals.bytesDown) / elapsed
                    )
                    state.sample = Sample(at: seconds, totals: totals)
                }
            } else {
                state.sample = Sample(at: seconds, totals: totals)
            }
            state.current = observation
            return observation
        }
    }
}
