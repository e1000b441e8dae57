import LBBalancing

/// A setting with a single value: its names (config file key, flag, environment variable), its help, and how a
/// value is checked, stored and read back. The entries are in `SettingsTable`; the builders here turn a type and
/// a range into the check, the message, the allowed values of `--help` and the docs, and the default.
struct ScalarSetting: Sendable {
    /// The JSON type the config file must use for the setting.
    enum FileType: Sendable {
        case integer
        case string
        case boolean
    }

    /// The key path in the config file; a dot nests it (`health.tls.caFile` is inside `health`, inside `tls`).
    let fileKey: String
    let flag: String
    /// The environment variable (`TESSERA_LB_WORKERS`).
    let variable: String
    /// The value's name in `--help` and the docs (`N`, `MS`); nil for a flag without a value, which means
    /// `bareValue` (`--freebind` is `true`, `--no-health` is `false`).
    let valueName: String?
    let bareValue: String?
    /// What the setting does, one phrase, for `--help` and the docs.
    let help: String
    /// The values it takes, in the docs' words (`1 to 256`, `` `splice`, `copy`, `auto` ``).
    let allowed: String
    /// The default when the configuration's default leaves it unset ("one per core"); otherwise the default is
    /// the value `current` reads from `BalancerConfig()`.
    let unset: String?
    let fileType: FileType
    /// Checks a value written as text (a flag's value, or the file's value as text) and stores it.
    let store: @Sendable (String, inout BalancerConfig) throws(ConfigProblem) -> Void
    /// The setting's value in a configuration, as text; nil when it is unset (the config file leaves it out).
    let current: @Sendable (BalancerConfig) -> String?

    init(
        _ fileKey: String, flag: String, value valueName: String?, bareValue: String? = nil, help: String,
        allowed: String, unset: String? = nil, variable: String? = nil, fileType: FileType,
        store: @escaping @Sendable (String, inout BalancerConfig) throws(ConfigProblem) -> Void,
        current: @escaping @Sendable (BalancerConfig) -> String?
    ) {
        self.fileKey = fileKey
        self.flag = flag
        self.variable = variable ?? Self.variable(for: flag)
        self.valueName = valueName
        self.bareValue = bareValue
        self.help = help
        self.allowed = allowed
        self.unset = unset
        self.fileType = fileType
        self.store = store
        self.current = current
    }

    /// Every single-valued setting, in the order of `SettingsTable`: the docs', `--help`'s and `ConfigWriter`'s.
    static let all: [ScalarSetting] = SettingsTable.all.compactMap(\.scalar)

    /// The default as text, as `--print-config` would write it; nil when unset.
    var defaultValue: String? { current(BalancerConfig()) }

    /// The environment variable for a flag: `--max-conns` is `TESSERA_LB_MAX_CONNS`.
    static func variable(for flag: String) -> String {
        "TESSERA_LB_" + flag.dropFirst(2).uppercased().replacing("-", with: "_")
    }

    /// A string setting checked by `check`, which may also store it elsewhere than `keyPath`.
    static func text(
        _ fileKey: String, flag: String, value: String, help: String, allowed: String, unset: String? = nil,
        store: @escaping @Sendable (String, inout BalancerConfig) throws(ConfigProblem) -> Void,
        current: @escaping @Sendable (BalancerConfig) -> String?
    ) -> ScalarSetting {
        ScalarSetting(
            fileKey, flag: flag, value: value, help: help, allowed: allowed, unset: unset, fileType: .string,
            store: store, current: current
        )
    }

    /// An integer setting; `unit` and `note` complete the range in messages ("between 1 and 600000 milliseconds").
    static func integer(
        _ fileKey: String, flag: String, value: String, range: ClosedRange<Int>, unit: String? = nil,
        note: String? = nil, help: String, _ keyPath: any WritableKeyPath<BalancerConfig, Int> & Sendable
    ) -> ScalarSetting {
        integer(fileKey, flag: flag, value: value, range: range, unit: unit, note: note, help: help, unset: nil,
                store: { $0[keyPath: keyPath] = $1 }, current: { $0[keyPath: keyPath] })
    }

    /// An integer setting whose unset value (nil) has a meaning of its own, `unset`, such as "one per core".
    static func integer(
        _ fileKey: String, flag: String, value: String, range: ClosedRange<Int>, unit: String? = nil,
        note: String? = nil, help: String, unset: String,
        _ keyPath: any WritableKeyPath<BalancerConfig, Int?> & Sendable
    ) -> ScalarSetting {
        integer(fileKey, flag: flag, value: value, range: range, unit: unit, note: note, help: help, unset: unset,
                store: { $0[keyPath: keyPath] = $1 }, current: { $0[keyPath: keyPath] })
    }

    private static func integer(
        _ fileKey: String, flag: String, value: String, range: ClosedRange<Int>, unit: String?, note: String?,
        help: String, unset: String?,
        store: @escaping @Sendable (inout BalancerConfig, Int) -> Void,
        current: @escaping @Sendable (BalancerConfig) -> Int?
    ) -> ScalarSetting {
        let unitText = unit.map { " \($0)" } ?? ""
        let rule = "between \(range.lowerBound) and \(range.upperBound)" + unitText + (note.map { " (\($0))" } ?? "")
        return ScalarSetting(
            fileKey, flag: flag, value: value, help: help,
            allowed: "\(range.lowerBound) to \(range.upperBound)" + unitText + (note.map { "; \($0)" } ?? ""),
            unset: unset, fileType: .integer,
            store: { text, config throws(ConfigProblem) in
                switch DecimalInteger.parse(text) {
                case .notAnInteger: throw ConfigProblem("must be an integer \(rule)")
                case .tooLarge: throw ConfigProblem("must be \(rule)")
                case .value(let value):
                    guard range.contains(value) else { throw ConfigProblem("must be \(rule)") }
                    store(&config, value)
                }
            },
            current: { current($0).map(String.init) }
        )
    }

    /// A setting that takes one of an enum's raw values.
    static func choice<Choice: RawRepresentable & CaseIterable & Sendable>(
        _ fileKey: String, flag: String, value: String, help: String,
        _ keyPath: any WritableKeyPath<BalancerConfig, Choice> & Sendable
    ) -> ScalarSetting where Choice.RawValue == String {
        let names = Choice.allCases.map(\.rawValue)
        let rule = "must be " + names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
        return ScalarSetting(
            fileKey, flag: flag, value: value, help: help,
            allowed: names.map { "`\($0)`" }.joined(separator: ", "), fileType: .string,
            store: { text, config throws(ConfigProblem) in
                guard let choice = Choice(rawValue: text) else { throw ConfigProblem(rule) }
                config[keyPath: keyPath] = choice
            },
            current: { $0[keyPath: keyPath].rawValue }
        )
    }

    /// A true-or-false setting; in the config file it is a JSON boolean. Its flag takes no value and means
    /// `flagMeans`; its variable takes true or false.
    static func boolean(
        _ fileKey: String, flag: String, flagMeans: Bool, variable: String, help: String, unset: String? = nil,
        store: @escaping @Sendable (inout BalancerConfig, Bool) -> Void,
        current: @escaping @Sendable (BalancerConfig) -> Bool?
    ) -> ScalarSetting {
        ScalarSetting(
            fileKey, flag: flag, value: nil, bareValue: String(flagMeans), help: help, allowed: "`true`, `false`",
            unset: unset, variable: variable, fileType: .boolean,
            store: { text, config throws(ConfigProblem) in
                switch text {
                case "true": store(&config, true)
                case "false": store(&config, false)
                default: throw ConfigProblem("must be true or false")
                }
            },
            current: { current($0).map(String.init) }
        )
    }
}
