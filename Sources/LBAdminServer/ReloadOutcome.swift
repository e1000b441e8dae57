/// What a reload did, as `POST /reload` answers it: what changed, or why the configuration was rejected.
public struct ReloadOutcome: Sendable, Equatable {
    /// One entry per change, as the reload's log line lists them (`nodes added: n3`, `health.rise 2 -> 3`);
    /// empty when the configuration read was the one running.
    public var changes: [String]
    /// Why nothing was applied (the invalid setting, a node that does not resolve, a port that cannot be
    /// bound), on one line; nil when the reload was applied.
    public var error: String?

    /// A reload that was applied.
    public static func applied(_ changes: [String]) -> ReloadOutcome { ReloadOutcome(changes: changes, error: nil) }

    /// A reload that was rejected; the running configuration stays.
    public static func rejected(_ error: String) -> ReloadOutcome { ReloadOutcome(changes: [], error: error) }
}
