import LBBalancing

/// An invalid setting: which one, the value as given, and what is wrong with it.
///
/// `description` is the one line the command prints before exiting with status 2, e.g.
/// `invalid --workers "0": must be between 1 and 256` or
/// `invalid services[1].listenPort "70000" in /etc/tessera-lb.json: must be a port between 1 and 65535`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The flag (`--workers`) or the path of the key in the config file (`services[1].listenPort`).
    public var setting: String
    /// The value as given (a flag's text, a file value rendered as text); nil when no single value is at fault.
    public var value: String?
    /// What is wrong, phrased to follow the setting and value.
    public var problem: String
    /// The config file the setting is in; nil for flags.
    public var file: String?

    public init(setting: String, value: String?, problem: String, file: String? = nil) {
        self.setting = setting
        self.value = value
        self.problem = problem
        self.file = file
    }

    public var description: String {
        // One line whatever was given: the value quoted, escaped and cut; the rest with any line-breaking or
        // invisible character escaped.
        var line = "invalid \(OneLine.clean(setting))"
        if let value { line += " \(OneLine.quoted(value))" }
        if let file { line += " in \(OneLine.clean(file))" }
        return line + ": \(OneLine.clean(problem))"
    }
}
