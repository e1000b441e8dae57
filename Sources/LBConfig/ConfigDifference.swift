/// What differs between two configurations, setting by setting, as a reload reports it.
public enum ConfigDifference {
    /// One single-valued setting that differs.
    public struct Change: Sendable, Equatable, CustomStringConvertible {
        /// The config file key (`health.rise`, `maxConns`).
        public let key: String
        /// The value before and after, as the config file writes it; nil when unset (`workers`: one per core).
        public let old: String?
        public let new: String?

        /// `health.rise 2 -> 3`; an unset value shows as `default`.
        public var description: String { "\(key) \(old ?? "default") -> \(new ?? "default")" }
    }

    /// The single-valued settings (every key but `nodes` and `services`) whose values differ, in the order the
    /// docs list them.
    public static func settings(from old: BalancerConfig, to new: BalancerConfig) -> [Change] {
        ScalarSetting.all.compactMap { setting in
            let before = setting.current(old)
            let after = setting.current(new)
            return before == after ? nil : Change(key: setting.fileKey, old: before, new: after)
        }
    }
}
