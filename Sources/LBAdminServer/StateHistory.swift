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

    /// What was seen, by name (node names, service names), so that a reload that adds, removes or reorders
    /// nodes and services keeps the history of those that stay.
    private struct State {
        var view: BalancerView
        /// Whether anything was observed yet: what is first seen then counts from `startedAt`, what a reload
        /// adds later from when it is first seen.
        var observed = false
        var nodes: [String: Observation.Held] = [:]
        /// [service name][node name].
        var services: [String: [String: Observation.Held]] = [:]
        var changes: [String: Int] = [:]
        var transitions: [Transition] = []
        var rates = Rates()
        var sample: Sample?
        var fingerprints: [String: Fingerprint] = [:]
    }

    private let capacity: Int
    private let state: Mutex<State>
    /// When this history began (the admin server's start).
    public let startedAt: Date

    /// - Parameter capacity: how many transitions to keep.
    public init(view: BalancerView, capacity: Int = 50, startedAt: Date = Date()) {
        self.capacity = capacity
        self.startedAt = startedAt
        state = Mutex(State(view: view))
    }

    /// The balancer as it is now (the view given last).
    var view: BalancerView { state.withLock { $0.view } }

    /// Takes the balancer as a reload left it. Nodes and services that stay (by name) keep their state, since
    /// when, and change count; those that were removed are forgotten; new ones count from when first seen.
    func update(view: BalancerView) {
        state.withLock { state in
            state.view = view
            let nodes = Set(view.nodes.map(\.state.name))
            let services = Set(view.services.map(\.name))
            state.nodes = state.nodes.filter { nodes.contains($0.key) }
            state.changes = state.changes.filter { nodes.contains($0.key) }
            state.fingerprints = state.fingerprints.filter { nodes.contains($0.key) }
            state.services = state.services.filter { services.contains($0.key) }.mapValues { $0.filter { nodes.contains($0.key) } }
        }
        observe(view: view)
    }

    /// The periodic look: compares what decides each node's state with the last look, in place, and
    /// records (`observe`) only when something changed. So the admin thread does not allocate four times a
    /// second on a quiet balancer.
    func tick() {
        let now = MonotonicClock.nowMilliseconds()
        let changed = state.withLock { state in
            var changed = false
            let view = state.view
            for n in view.nodes.indices {
                let node = view.nodes[n].state
                var print = Fingerprint(
                    markedUp: node.isMarkedUp, admin: node.adminState, failedOut: node.isFailedOut(now: now), servicesDown: 0
                )
                for s in view.services.indices where s < 64 && node.isServiceDown(s) { print.servicesDown |= 1 << UInt64(s) }
                if state.fingerprints[node.name] != print {
                    state.fingerprints[node.name] = print
                    changed = true
                }
            }
            return changed
        }
        if changed { observe() }
    }

    /// Reads every node's state now, records what changed, and returns the picture, laid out as `view`'s nodes
    /// and services (the view given last when nil; pass the view being rendered so the two agree).
    @discardableResult
    func observe(view given: BalancerView? = nil, now: Date = Date()) -> Observation {
        let view = given ?? self.view
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
        let names = view.nodes.map(\.state.name)
        return state.withLock { state in
            var fresh: [Transition] = []
            var nodeChanged = Array(repeating: false, count: nodeConditions.count)
            for (n, condition) in nodeConditions.enumerated() {
                let name = names[n]
                guard let held = state.nodes[name] else {
                    // First seen. The probe knows since when a node has been up or down; otherwise count from the
                    // start (or, for a node a reload added, from now).
                    let probe = reports.first { $0.target.node == n && $0.target.service == nil }
                    let since = condition.state == .up || condition.state == .down ? probe?.since : nil
                    state.nodes[name] = .init(condition: condition, since: since ?? (state.observed ? now : startedAt))
                    continue
                }
                if held.condition.state != condition.state {
                    fresh.append(
                        Transition(at: now, node: name, service: nil, from: held.condition.state, to: condition.state, reason: condition.reason)
                    )
                    state.nodes[name]?.since = now
                    state.changes[name, default: 0] += 1
                    nodeChanged[n] = true
                }
                state.nodes[name]?.condition = condition
            }
            for (s, conditions) in serviceConditions.enumerated() {
                let service = view.services[s].name
                for (n, condition) in conditions.enumerated() {
                    let name = names[n]
                    guard let held = state.services[service]?[name] else {
                        state.services[service, default: [:]][name] = .init(condition: condition, since: state.observed ? now : startedAt)
                        continue
                    }
                    if held.condition.state != condition.state {
                        if !nodeChanged[n] {
                            fresh.append(
                                Transition(
                                    at: now, node: name, service: service, from: held.condition.state, to: condition.state,
                                    reason: condition.reason
                                )
                            )
                        }
                        state.services[service]?[name]?.since = now
                    }
                    state.services[service]?[name]?.condition = condition
                }
            }
            state.observed = true
            state.transitions = Array((fresh.reversed() + state.transitions).prefix(capacity))
            if let sample = state.sample {
                let elapsed = seconds - sample.at
                if elapsed >= 1 {
                    // Counters only grow (a reload's retired engines are still counted), so the rates stay positive.
                    state.rates = Rates(
                        accepted: Double(totals.accepted - sample.totals.accepted) / elapsed,
                        bytesUp: Double(totals.bytesUp - sample.totals.bytesUp) / elapsed,
                        bytesDown: Double(totals.bytesDown - sample.totals.bytesDown) / elapsed
                    )
                    state.sample = Sample(at: seconds, totals: totals)
                }
            } else {
                state.sample = Sample(at: seconds, totals: totals)
            }
            return Observation(
                nodes: names.map { state.nodes[$0]! },
                services: view.services.map { service in names.map { state.services[service.name]![$0]! } },
                transitions: state.transitions,
                changes: names.map { state.changes[$0] ?? 0 },
                rates: state.rates
            )
        }
    }
}
