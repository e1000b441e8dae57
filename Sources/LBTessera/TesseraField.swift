internal import LBConfig

/// Reading a Tessera config the way Tessera does: unknown keys are ignored (Tessera warns and goes on), null is
/// the same as absent, booleans may be strings, and strings may hold `${VAR}` templates.
extension ConfigFileValue {
    /// The field `key` of this object; nil when absent, null, or when this is not an object.
    func field(_ key: String) -> ConfigFileValue? {
        guard case .object(let object) = value, let element = object[key] else { return nil }
        if case .null = element { return nil }
        return ConfigFileValue(value: element, path: childPath(key), file: file)
    }

    /// A string, with its `${VAR}` templates filled in.
    func text(_ environment: [String: String]) throws(ConfigError) -> String {
        let raw = try string()
        return try given.check { () throws(ConfigProblem) in try EnvironmentTemplate.expand(raw, environment) }
    }

    /// A boolean: JSON `true`/`false`, or the strings "true"/"false" in any case (Tessera accepts both), possibly
    /// from a template such as `"${PRIVACY_ENHANCEMENTS:-false}"`.
    func flag(_ environment: [String: String]) throws(ConfigError) -> Bool {
        if case .bool(let bool) = value { return bool }
        guard case .string = value else { throw given.error("expected true or false, got \(value.kind)") }
        switch try text(environment).lowercased() {
        case "true": return true
        case "false": return false
        default: throw given.error("expected true or false")
        }
    }

    /// This value as an error shows it once its templates are filled in (the raw text if they cannot be).
    func given(_ environment: [String: String]) -> GivenValue {
        guard let text = try? text(environment) else { return given }
        return GivenValue(setting: path, text: text, file: file)
    }
}
