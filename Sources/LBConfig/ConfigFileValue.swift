import LBBalancing

/// A value in the config file with its key path (`services[1].listenPort`), so every check can name it.
package struct ConfigFileValue {
    package let value: JSONValue
    /// The key path from the top of the file; empty for the top-level object.
    package let path: String
    /// The config file, as given.
    package let file: String

    package init(value: JSONValue, path: String, file: String) {
        self.value = value
        self.path = path
        self.file = file
    }

    package var given: GivenValue {
        GivenValue(setting: path, text: value.text, file: file)
    }

    package func integer() throws(ConfigError) -> Int {
        switch value {
        case .integer(let integer): return integer
        case .number: throw given.error("expected an integer")
        default: throw given.error("expected an integer, got \(value.kind)")
        }
    }

    /// An integer setting's value as text for its own range check: a whole number too large for `Int` goes as
    /// written, so the error shows it as given and names the range.
    package func integerText() throws(ConfigError) -> String {
        if case .number(let text) = value, DecimalInteger.parse(text) == .tooLarge { return text }
        return String(try integer())
    }

    package func string() throws(ConfigError) -> String {
        guard case .string(let string) = value else { throw given.error("expected a string, got \(value.kind)") }
        return string
    }

    package func boolean() throws(ConfigError) -> Bool {
        guard case .bool(let bool) = value else { throw given.error("expected true or false, got \(value.kind)") }
        return bool
    }

    /// The elements of an array, each with its index in its path.
    package func elements() throws(ConfigError) -> [ConfigFileValue] {
        guard case .array(let array) = value else { throw given.error("expected an array, got \(value.kind)") }
        return array.enumerated().map { index, element in
            ConfigFileValue(value: element, path: "\(path)[\(index)]", file: file)
        }
    }

    /// The fields of an object, each with its key in its path. A key not in `allowed` is an error, so a
    /// misspelt setting is never silently ignored.
    package func fields(allowed: [String]) throws(ConfigError) -> [String: ConfigFileValue] {
        guard case .object(let object) = value else { throw given.error("expected an object, got \(value.kind)") }
        // Sorted, so a file with several unknown keys always reports the same one.
        for key in object.keys.sorted() where !allowed.contains(key) {
            throw GivenValue(setting: childPath(key), text: nil, file: file)
                .error("unknown key; the keys here are \(allowed.joined(separator: ", "))")
        }
        var fields: [String: ConfigFileValue] = [:]
        for (key, element) in object {
            fields[key] = ConfigFileValue(value: element, path: childPath(key), file: file)
        }
        return fields
    }

    /// The error for a required key this object lacks.
    package func missing(_ key: String) -> ConfigError {
        given.error("missing \(OneLine.quoted(key))")
    }

    /// The key path of this object's field `key`.
    package func childPath(_ key: String) -> String {
        // Quote a key that could not be read back as a path (spaces, dots, control characters).
        let plain = !key.isEmpty && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        let name = plain ? key : OneLine.quoted(key)
        return path.isEmpty ? name : "\(path).\(name)"
    }
}
