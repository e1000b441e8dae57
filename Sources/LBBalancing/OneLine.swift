/// Text from outside (a value an operator gave, a node's probe answer) made fit for one line of an error or a
/// log: a raw newline, U+2028, U+0085 or a bidi override would break the line, forge another one or make it read
/// differently than it is stored. Shared by the config checks and the health probe, which both build on this
/// module.
public enum OneLine {
    /// How many characters of a quoted value are shown; a longer one is cut, its length said. Every value
    /// that can be right fits (a host name is at most 253 characters, a socket path 107 bytes), so only a
    /// value that is wrong anyway is cut.
    public static let shownCharacters = 256

    /// The text with every control, format (bidi, zero-width), line- and paragraph-separator character written
    /// as an escape (`\n`, `\u{2028}`); everything else as it is.
    public static func clean(_ text: some StringProtocol) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return String(text) }
        var out = ""
        for scalar in text.unicodeScalars {
            out += needsEscape(scalar) ? escape(scalar) : String(scalar)
        }
        return out
    }

    /// The value in double quotes, `"` and `\` escaped as well, cut after `shownCharacters` characters with its
    /// length in bytes after the closing quote: `"aaaa…"... (100000 bytes)`.
    public static func quoted(_ value: some StringProtocol) -> String {
        var out = "\""
        for character in value.prefix(shownCharacters) {
            for scalar in character.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                default: out += needsEscape(scalar) ? escape(scalar) : String(scalar)
                }
            }
        }
        out += "\""
        if value.count > shownCharacters { out += "... (\(value.utf8.count) bytes)" }
        return out
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned: true
        default: false
        }
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": "\\n"
        case "\r": "\\r"
        case "\t": "\\t"
        case "\0": "\\0"
        default: "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        }
    }
}
