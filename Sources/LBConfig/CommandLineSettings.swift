/// A command line that does not parse: an unknown flag, a flag without its value. Its message is the argument
/// parser's wording (`Unknown option '--no-such-flag'`), printed on one line with exit status 2.
public struct CommandLineError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

extension ConfigOverrides {
    /// Reads the settings' flags from `arguments`, by `SettingsTable`: `--workers 4` or `--workers=4`; a
    /// repeatable flag adds to its list; a single-valued one given twice keeps the last value. A value is taken
    /// whatever it looks like, so one starting with '-' (`--idle-timeout -1`) reaches the setting's check.
    public init(arguments: [String]) throws(CommandLineError) {
        self.init()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            guard argument.hasPrefix("--") else { throw CommandLineError(description: "Unexpected argument '\(argument)'") }
            let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let flag = String(parts[0])
            let inline = parts.count == 2 ? String(parts[1]) : nil
            guard let entry = SettingsTable.all.first(where: { $0.flag == flag }) else {
                let closest = SettingsTable.all.map(\.flag).min {
                    EnvironmentVariables.distance(flag, $0) < EnvironmentVariables.distance(flag, $1)
                }
                let hint = closest.flatMap { EnvironmentVariables.distance(flag, $0) <= 2 ? "; did you mean \($0)?" : nil }
                throw CommandLineError(description: "Unknown option '\(flag)'" + (hint ?? ""))
            }
            if let bare = entry.scalar?.bareValue {
                if inline != nil { throw CommandLineError(description: "The option '\(flag)' takes no value") }
                values[flag] = bare
                continue
            }
            guard let value = inline ?? rest.popFirst() else {
                throw CommandLineError(description: "Missing value for '\(entry.usage)'")
            }
            switch entry {
            case .scalar: values[flag] = value
            case .list(let list): list.add(&self, value)
            }
        }
    }
}

extension SettingsTable {
    /// The settings as `tessera-lb run --help` lists them: a flag and its value's name, then what it does, the
    /// values it takes and its default, wrapped to `width` columns (ArgumentParser wraps a longer line of a
    /// command's discussion at 80, without the indent).
    public static func help(width: Int = 79) -> String {
        let indent = String(repeating: " ", count: 30)
        return all.map { entry in
            // The text starts beside the flag, or on the next line when the flag is too long for that.
            let flag = "  " + entry.usage
            var lines = flag.count < indent.count - 1 ? [flag + String(repeating: " ", count: indent.count - flag.count)]
                : [flag, indent]
            for word in entry.helpSentence.split(separator: " ") {
                let last = lines[lines.count - 1]
                if last.count > indent.count, last.count + 1 + word.count > width {
                    lines.append(indent + word)
                } else {
                    lines[lines.count - 1] = last + (last.count > indent.count ? " " : "") + word
                }
            }
            return lines.joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
