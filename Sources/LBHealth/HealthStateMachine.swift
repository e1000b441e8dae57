/// Rise and fall counting for one node (or one node's service): `fall` consecutive failed probes take it down,
/// `rise` consecutive good ones bring it back. A pure value: the probe loop feeds it results and performs the
/// transition it returns.
public struct HealthStateMachine: Sendable, Equatable {
    public enum Transition: Sendable, Equatable {
        case wentUp
        case wentDown
    }

    public let rise: Int
    public let fall: Int
    public private(set) var isUp: Bool
    private var successes = 0
    private var failures = 0

    /// - Parameter startUp: start up, but "going down": the first failed probe takes the node out (HAProxy's
    ///   default), so a node that is down at start-up costs one probe, not `fall`. Otherwise start down until
    ///   `rise` probes succeed.
    public init(rise: Int, fall: Int, startUp: Bool) {
        self.rise = rise
        self.fall = fall
        self.isUp = startUp
        if startUp { failures = fall - 1 }
    }

    /// Whether the node is between states (some probes one way): probe it at the fast interval.
    public var isChanging: Bool { isUp ? failures > 0 : successes > 0 }

    /// Records one probe result; returns the transition it caused, if any.
    public mutating func record(success: Bool) -> Transition? {
        if success {
            failures = 0
            guard !isUp else { return nil }
            successes += 1
            if successes >= rise {
                isUp = true
                successes = 0
                return .wentUp
            }
        } else {
            successes = 0
            guard isUp else { return nil }
            failures += 1
            if failures >= fall {
                isUp = false
                failures = 0
                return .wentDown
            }
        }
        return nil
    }

    /// Takes the node down without probes (it failed `max_fails` connects): it comes back only through `rise`
    /// good probes.
    public mutating func forceDown() -> Transition? {
        successes = 0
        failures = 0
        guard isUp else { return nil }
        isUp = false
        return .wentDown
    }
}
