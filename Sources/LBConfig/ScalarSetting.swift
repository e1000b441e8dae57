import LBBalancing

/// A setting with a single value: its config file key, its flag, and how a value is checked and stored.
///
/// The file reader and the flags both go through `all`, so each setting's name, range and message live here once.
struct ScalarSetting: Sendable {
    /// The JSON type the config file must use for the setting.
    enum FileType: Sendable {
        case integer
        case string
    }

    let fileKey: String
    let flag: String
    let fileType: FileType
    /// The setting's flag value, if given.
    let override: @Sendable (ConfigOverrides) -> String?
    /// Checks a value written as text (a flag's value, or the file's value as text) and stores it.
    let store: @Sendable (String, inout BalancerConfig) throws(ConfigProblem) -> Void
}

extension ScalarSetting {
    /// Every single-valued setting, in the order the docs list them.
    static let all: [ScalarSetting] = [
        ScalarSetting(fileKey: "listen", flag: "--listen", fileType: .string, override: { $0.listen }) {
            text, config throws(ConfigProblem) in
            // The listeners bind this literally; a host name would need resolving to pick an address family.
            guard IPAddressLiteral.isIP(text) else {
                throw ConfigProblem("must be an IPv4 or IPv6 address such as 0.0.0.0, :: or 127.0.0.1, not a host name")
            }
            config.listenAddress = text
        },
        integer("workers", flag: "--workers", range: 1...256, override: { $0.workers }) { $0.workers = $1 },
        choice("balance", flag: "--balance", override: { $0.balance }) { (config, balance: BalanceAlgorithm) in
            config.balance = balance
        },
        integer("maxConns", flag: "--max-conns", range: 1...1_000_000, override: { $0.maxConns }) {
            $0.maxConnections = $1
        },
        integer("connectTimeoutMs", flag: "--connect-timeout", range: 1...600_000, unit: "milliseconds",
                override: { $0.connectTimeoutMs }) { $0.connectTimeoutMs = $1 },
        integer("idleTimeoutMs", flag: "--idle-timeout", range: 0...86_400_000, unit: "milliseconds", note: "0 is off",
                override: { $0.idleTimeoutMs }) { $0.idleTimeoutMs = $1 },
        integer("maxFails", flag: "--max-fails", range: 0...1000, note: "0 turns passive health checks off",
                override: { $0.maxFails }) { $0.maxFails = $1 },
        integer("failTimeoutMs", flag: "--fail-timeout", range: 1...3_600_000, unit: "milliseconds",
                override: { $0.failTimeoutMs }) { $0.failTimeoutMs = $1 },
        choice("forward", flag: "--forward", override: { $0.forward }) { (config, forward: BalancerConfig.ForwardMode) in
            config.forward = forward
        },
        integer("pipeSize", flag: "--pipe-size", range: 4096...67_108_864, unit: "bytes", override: { $0.pipeSize }) {
            $0.pipeSize = $1
        },
    ]

    /// An integer setting; `unit` and `note` complete the range in messages ("between 1 and 600000 milliseconds").
    private static func integer(
        _ fileKey: String,
        flag: String,
        range: ClosedRange<Int>,
        unit: String? = nil,
        note: String? = nil,
        override: @escaping @Sendable (ConfigOverrides) -> String?,
        store: @escaping @Sendable (inout BalancerConfig, Int) -> Void
    ) -> ScalarSetting {
        let rule = "between \(range.lowerBound) and \(range.upperBound)"
            + (unit.map { " \($0)" } ?? "") + (note.map { " (\($0))" } ?? "")
        return ScalarSetting(fileKey: fileKey, flag: flag, fileType: .integer, override: override) {
            text, config throws(ConfigProblem) in
            guard let value = Int(text) else { throw ConfigProblem("must be an integer \(rule)") }
            guard range.contains(value) else { throw ConfigProblem("must be \(rule)") }
            store(&config, value)
        }
    }

    /// A setting that takes one of an enum's raw values.
    private static func choice<Choice: RawRepresentable & CaseIterable & Sendable>(
        _ fileKey: String,
        flag: String,
        override: @escaping @Sendable (ConfigOverrides) -> String?,
        store: @escaping @Sendable (inout BalancerConfig, Choice) -> Void
    ) -> ScalarSetting where Choice.RawValue == String {
        let names = Choice.allCases.map(\.rawValue)
        let rule = "must be " + names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
        return ScalarSetting(fileKey: fileKey, flag: flag, fileType: .string, override: override) {
            text, config throws(ConfigProblem) in
            guard let choice = Choice(rawValue: text) else { throw ConfigProblem(rule) }
            store(&config, choice)
        }
    }
}
