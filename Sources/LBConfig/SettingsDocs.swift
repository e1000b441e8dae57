extension SettingsTable {
    /// The settings table of docs/configuration.md, as it must read: one row per entry. A test compares it with
    /// the page; `UPDATE_DOCS=1 swift test --filter SettingsDocsTests` writes it there.
    public static func markdownTable() -> String {
        var rows = [["File key", "Flag", "Environment variable", "Default", "Allowed values"]]
        for entry in all {
            let flag = switch entry {
            case .list(let list): "`\(list.flag) \(list.valueName)`" + (list.repeatable ? " (repeatable)" : "")
            case .scalar(let setting):
                setting.valueName.map { "`\(setting.flag) \($0)`" } ?? "`\(setting.flag)` (sets `\(setting.bareValue ?? "")`)"
            }
            let key = entry.fileKey.map { "`\($0)`" } ?? "none: a flag and a variable only"
            rows.append([key, flag, "`\(entry.variable)`", entry.defaultText, entry.allowed.replacing("|", with: "\\|")])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            "| " + zip(cells, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: " | ") + " |"
        }
        let rule = "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|"
        return ([line(rows[0]), rule] + rows.dropFirst().map(line)).joined(separator: "\n")
    }
}
