import Foundation
import LBConfig
import Testing

/// docs/configuration.md's settings table is `SettingsTable`'s, and the command line reads every setting by it.
@Suite("the settings table")
struct SettingsTableTests {
    static let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/configuration.md")
    static let begin = "<!-- settings table: made from SettingsTable (Sources/LBConfig/SettingsTable.swift) -->"
    static let end = "<!-- end of settings table -->"

    @Test("docs/configuration.md's settings table is the one SettingsTable makes (UPDATE_DOCS=1 writes it)")
    func docsMatchTable() throws {
        let text = try String(contentsOf: Self.page, encoding: .utf8)
        let start = try #require(text.range(of: Self.begin + "\n"), "the page marks the table's start")
        let stop = try #require(text.range(of: "\n" + Self.end, range: start.upperBound..<text.endIndex), "and its end")
        let documented = String(text[start.upperBound..<stop.lowerBound])
        let made = SettingsTable.markdownTable()
        if documented != made, ProcessInfo.processInfo.environment["UPDATE_DOCS"] == "1" {
            try text.replacingCharacters(in: start.upperBound..<stop.lowerBound, with: made)
                .write(to: Self.page, atomically: true, encoding: .utf8)
            return
        }
        let documentedRows = documented.split(separator: "\n")
        let madeRows = made.split(separator: "\n")
        #expect(documentedRows.count == madeRows.count, "one row per setting")
        for (doc, row) in zip(documentedRows, madeRows) where doc != row {
            #expect(doc == row, "run UPDATE_DOCS=1 swift test --filter SettingsTableTests to rewrite the table")
            break
        }
        #expect(made.contains("| `maxConns` ") && made.contains("`--max-conns N`") && made.contains("`TESSERA_LB_MAX_CONNS`")
                && made.contains("`16384`"), "a row has the key, flag, variable and default: \(made)")
    }

    @Test("every setting's flag, variable and file key is its own")
    func namesAreUnique() {
        let help = SettingsTable.help()
        let flags = help.matches(of: /^  (--[a-z-]+)/.anchorsMatchLineEndings()).map { String($0.1) }
        #expect(flags.count >= 45, "\(flags)")
        #expect(Set(flags).count == flags.count, "each flag once: \(flags)")
        let rows = SettingsTable.markdownTable().split(separator: "\n").dropFirst(2)
        let variables = rows.compactMap { $0.firstMatch(of: /`(TESSERA_LB_[A-Z_]+)`/).map { String($0.1) } }
        #expect(variables.count == flags.count && Set(variables).count == variables.count, "\(variables)")
    }

    @Test("the command line is read by the table: separate or inline values, repeatable lists, bare flags")
    func readsArguments() throws {
        let overrides = try ConfigOverrides(arguments: [
            "--node", "10.0.0.1", "--node=10.0.0.2:b", "--workers", "4", "--idle-timeout", "-1", "--freebind",
            "--no-health", "--config", "lb.json", "--health-body=", "--workers=5",
        ])
        var expected = ConfigOverrides(
            nodes: ["10.0.0.1", "10.0.0.2:b"],
            ["--workers": "5", "--idle-timeout": "-1", "--freebind": "true", "--no-health": "false", "--health-body": ""]
        )
        expected.configFile = "lb.json"
        #expect(overrides == expected)
    }

    @Test("a command line that does not parse says why in the argument parser's words", arguments: [
        (["--no-such-flag"], "Unknown option '--no-such-flag'"),
        (["--worker", "4"], "Unknown option '--worker'; did you mean --workers?"),
        (["--workers"], "Missing value for '--workers <N>'"),
        (["--freebind=true"], "The option '--freebind' takes no value"),
        (["10.0.0.1"], "Unexpected argument '10.0.0.1'"),
    ])
    func rejectsArguments(arguments: [String], message: String) {
        #expect(throws: CommandLineError(description: message)) { try ConfigOverrides(arguments: arguments) }
    }
}
