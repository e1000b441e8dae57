import LBBalancing

/// A value as the operator gave it and where: everything a `ConfigError` needs but the problem.
package struct GivenValue: Sendable {
    /// The flag or the file key path.
    package let setting: String
    /// The value as text; nil when it has no useful text form (an array, an object, a missing key).
    package let text: String?
    /// The config file; nil for flags.
    package let file: String?

    package func error(_ problem: String) -> ConfigError {
        ConfigError(setting: setting, value: text, problem: problem, file: file)
    }

    package func error(_ problem: ConfigProblem) -> ConfigError {
        error(problem.message)
    }

    /// Runs a check of this value, turning its problem into an error that names the value.
    package func check<Checked>(_ body: () throws(ConfigProblem) -> Checked) throws(ConfigError) -> Checked {
        do {
            return try body()
        } catch {
            throw self.error(error)
        }
    }

    package init(setting: String, text: String?, file: String?) {
        self.setting = setting
        self.text = text
        self.file = file
    }

    /// How another error refers to this value: a flag by its text (`--node "10.0.0.1:n1"`),
    /// a file entry by its path (`nodes[0]`).
    package var reference: String {
        if file == nil, let text { return "\(setting) \(OneLine.quoted(text))" }
        return setting
    }

    /// `reference` as an error about `other` shows it: a path in another file gets that file's name, since the
    /// same path exists in every Tessera config file.
    package func reference(from other: GivenValue) -> String {
        if let file, file != other.file { return "\(reference) in \(file)" }
        return reference
    }
}
