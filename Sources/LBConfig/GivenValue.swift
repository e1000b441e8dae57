/// A value as the operator gave it and where: everything a `ConfigError` needs but the problem.
struct GivenValue: Sendable {
    /// The flag or the file key path.
    let setting: String
    /// The value as text; nil when it has no useful text form (an array, an object, a missing key).
    let text: String?
    /// The config file; nil for flags.
    let file: String?

    func error(_ problem: String) -> ConfigError {
        ConfigError(setting: setting, value: text, problem: problem, file: file)
    }

    func error(_ problem: ConfigProblem) -> ConfigError {
        error(problem.message)
    }

    /// Runs a check of this value, turning its problem into an error that names the value.
    func check<Checked>(_ body: () throws(ConfigProblem) -> Checked) throws(ConfigError) -> Checked {
        do {
            return try body()
        } catch {
            throw self.error(error)
        }
    }

    /// How another error refers to this value: a flag by its text (`--node "10.0.0.1:n1"`),
    /// a file entry by its path (`nodes[0]`).
    var reference: String {
        if file == nil, let text { return "\(setting) \(text.debugDescription)" }
        return setting
    }
}
