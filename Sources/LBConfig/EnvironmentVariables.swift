internal import Foundation

/// The `TESSERA_LB_...` environment variables (for containers): one per setting, named after its flag
/// (`--max-conns` is `TESSERA_LB_MAX_CONNS`), plus the two lists and the two kinds of file.
struct EnvironmentVariables {
    static let prefix = "TESSERA_LB_"
    static let configFile = ListSetting.configFile.variable
    static let tesseraConfigs = ListSetting.tesseraConfigs.variable
    static let nodes = ListSetting.nodes.variable
    static let services = ListSetting.services.variable
    /// Every variable, in the order the docs list them.
    static let names = SettingsTable.all.map(\.variable)

    /// `TESSERA_LB_CONFIG`: the config file when `--config` is not given.
    var configFile: String?
    /// `TESSERA_LB_TESSERA_CONFIGS`, comma-separated.
    var tesseraConfigs: [String] = []
    /// `TESSERA_LB_NODES`, comma-separated `HOST[:name]`.
    var nodes: [String] = []
    /// `TESSERA_LB_SERVICES`, comma-separated service specs.
    var services: [String] = []
    /// `TESSERA_LB_ALLOW`: `SERVICE=ENTRY[,ENTRY...]` items separated by `;` (the entries take the commas).
    var allow: [String] = []
    /// The single-valued settings' variables that are set, by name.
    var values: [String: String] = [:]

    /// Picks the `TESSERA_LB_` variables out of `environment`. An unknown one that is a letter or two away from
    /// a known one is an error, so a misspelt variable is not silently ignored; others are left alone, since
    /// tools share the prefix (scripts/build-release reads TESSERA_LB_RELEASE_SCRATCH).
    init(_ environment: [String: String]) throws(ConfigError) {
        // Sorted, so several misspelt variables always report the same one.
        for name in environment.keys.sorted() where name.hasPrefix(Self.prefix) && !Self.names.contains(name) {
            let closest = Self.names.map { (known: $0, distance: Self.distance(name, $0)) }
                .min { $0.distance < $1.distance }
            guard let known = closest?.known, let distance = closest?.distance, distance <= 2 else { continue }
            throw ConfigError(setting: name, value: nil, problem: "unknown variable; did you mean \(known)?")
        }
        configFile = environment[Self.configFile]
        tesseraConfigs = try Self.list(Self.tesseraConfigs, in: environment)
        nodes = try Self.list(Self.nodes, in: environment)
        services = try Self.list(Self.services, in: environment)
        if let text = environment[AllowSyntax.variable], !text.isEmpty {
            allow = text.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        }
        for setting in ScalarSetting.all {
            values[setting.variable] = environment[setting.variable]
        }
    }

    /// The edit distance (insertions, deletions, substitutions) between two names.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        // One row of the classic dynamic-programming table at a time.
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// A comma-separated list; spaces around an entry are dropped, an empty entry is an error.
    private static func list(_ name: String, in environment: [String: String]) throws(ConfigError) -> [String] {
        guard let text = environment[name] else { return [] }
        let given = GivenValue(setting: name, text: text, file: nil)
        if text.allSatisfy(\.isWhitespace) { throw given.error("the list is empty; give comma-separated entries") }
        let entries = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if let empty = entries.firstIndex(of: "") {
            throw given.error("entry \(empty + 1) is empty; entries are separated by single commas")
        }
        return entries
    }
}
