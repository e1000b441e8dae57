/// The one way an integer is written in a flag, a variable or a `--service` port: plain decimal digits, with a
/// '-' for a negative number. `+5`, `-0`, `007`, `1e3`, `0x10` and ` 5` are not integers here, though Swift's
/// `Int(_:)` (and C's strtol) take some of them.
package enum DecimalInteger {
    package enum Parsed: Equatable {
        case value(Int)
        /// Written as an integer but beyond `Int`: the caller reports it as out of range, as given.
        case tooLarge
        case notAnInteger
    }

    package static func parse(_ text: some StringProtocol) -> Parsed {
        let digits = text.hasPrefix("-") ? text.dropFirst() : text[...]
        guard let first = digits.first, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return .notAnInteger }
        // "0" alone; "-0" and leading zeros are not how anyone writes a number on purpose.
        if first == "0", digits.count > 1 || text.hasPrefix("-") { return .notAnInteger }
        guard let value = Int(text) else { return .tooLarge }
        return .value(value)
    }
}
