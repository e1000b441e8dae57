/// What is wrong with a value, before the caller knows where the value came from.
///
/// Parsers throw this; the caller turns it into a `ConfigError` with `GivenValue.error(_:)`.
package struct ConfigProblem: Error {
    package let message: String

    package init(_ message: String) {
        self.message = message
    }
}
