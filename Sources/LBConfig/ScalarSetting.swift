import LBBalancing

/// A setting with a single value: its config file key, its flag, its environment variable, and how a value is
/// checked, stored and read back.
///
/// The file reader, the environment, the flags and `ConfigWriter` all go through `all`, so each setting's names,
/// range and message live here once.
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
    let fileType: FileType
    /// The setting's value in a set of flags or environment variables, if given.
    let override: @Sendable (ConfigOverrides) -> String?
    /// Checks a value written as text (a flag's value, or the file's value as text) and stores it.
    let store: @Sendable (String, inout BalancerConfig) throws(ConfigProblem) -> Void
    /// The setting's value in a configuration, as text; nil when it is unset (the config file leaves it out).
    let current: @Sendable (BalancerConfig) -> String?
}

extension ScalarSetting {
    /// Every single-valued setting, in the order the docs list them and `ConfigWriter` prints them.
    static let all: [ScalarSetting] = [
        ScalarSetting(
            fileKey: "listen", flag: "--listen", variable: "TESSERA_LB_LISTEN", fileType: .string,
            override: { $0.listen },
            store: { text, config throws(ConfigProblem) in
                // The listeners bind this literally; a host name would need resolving to pick an address family.
                guard IPAddressLiteral.isIP(text) else {
                    throw ConfigProblem(
                        "must be an IPv4 or IPv6 address such as 0.0.0.0, :: or 127.0.0.1, not a host name"
                    )
                }
                config.listenAddress = text
            },
            current: { $0.listenAddress }
        ),
        integer("workers", flag: "--workers", range: 1...256, override: { $0.workers }, \.workers),
        choice("balance", flag: "--balance", override: { $0.balance }, \.balance),
        integer("maxConns", flag: "--max-conns", range: 1...1_000_000, override: { $0.maxConns }, \.maxConnections),
        integer("connectTimeoutMs", flag: "--connect-timeout", range: 1...600_000, unit: "milliseconds",
                override: { $0.connectTimeoutMs }, \.connectTimeoutMs),
        integer("idleTimeoutMs", flag: "--idle-timeout", range: 0...86_400_000, unit: "milliseconds", note: "0 is off",
                override: { $0.idleTimeoutMs }, \.idleTimeoutMs),
        integer("maxFails", flag: "--max-fails", range: 0...1000, note: "0 turns passive health checks off",
                override: { $0.maxFails }, \.maxFails),
        integer("failTimeoutMs", flag: "--fail-timeout", range: 1...3_600_000, unit: "milliseconds",
                override: { $0.failTimeoutMs }, \.failTimeoutMs),
        choice("forward", flag: "--forward", override: { $0.forward }, \.forward),
        choice("engine", flag: "--engine", override: { $0.engine }, \.engine),
        integer("pipeSize", flag: "--pipe-size", range: 4096...67_108_864, unit: "bytes",
                override: { $0.pipeSize }, \.pipeSize),
        integer("nodeUserTimeoutMs", flag: "--node-user-timeout", range: 0...600_000, unit: "milliseconds",
                note: "0 keeps the kernel's default", override: { $0.nodeUserTimeoutMs }, \.nodeUserTimeoutMs),
        // TCP_KEEPIDLE takes at most 32767 seconds.
        integer("nodeKeepaliveSeconds", flag: "--node-keepalive", range: 0...32_767, unit: "seconds", note: "0 is off",
                override: { $0.nodeKeepaliveSeconds }, \.nodeKeepaliveSeconds),
        choice("allDown", flag: "--all-down", override: { $0.allDown }, \.allDown),
        integer("drainTimeoutMs", flag: "--drain-timeout", range: 0...3_600_000, unit: "milliseconds",
                note: "0 closes at once", override: { $0.drainTimeoutMs }, \.drainTimeoutMs),
        integer("acceptGraceMs", flag: "--accept-grace", range: 0...600_000, unit: "milliseconds",
                note: "0 closes the listeners at once", override: { $0.acceptGraceMs }, \.acceptGraceMs),
        // `--freebind` is a flag without a value; its value is "true". The variable takes true or false.
        boolean("freebind", flag: "--freebind", variable: "TESSERA_LB_FREEBIND", override: { $0.freebind },
                store: { $0.freebind = $1 }, current: { $0.freebind }),
        integer("groupCheckIntervalMs", flag: "--group-check-interval", range: 0...86_400_000, unit: "milliseconds",
                note: "0 is off", override: { $0.groupCheckIntervalMs }, \.groupCheckIntervalMs),
        choice("groupPolicy", flag: "--group-policy", override: { $0.groupPolicy }, \.groupPolicy),
        choice("mirrorPartyinfo", flag: "--mirror-partyinfo", override: { $0.mirrorPartyinfo }, \.mirrorPartyinfo),
        ScalarSetting(
            fileKey: "unixMode", flag: "--unix-mode", variable: "TESSERA_LB_UNIX_MODE", fileType: .string,
            override: { $0.unixMode },
            store: { text, config throws(ConfigProblem) in config.unixMode = try UnixSocketAccess.mode(text) },
            current: { $0.unixMode.map { UnixSocketAccess.octal($0) } }
        ),
        ScalarSetting(
            fileKey: "unixOwner", flag: "--unix-owner", variable: "TESSERA_LB_UNIX_OWNER", fileType: .string,
            override: { $0.unixOwner },
            store: { text, config throws(ConfigProblem) in
                _ = try UnixSocketAccess.owner(text)
                config.unixOwner = text
            },
            current: { $0.unixOwner }
        ),
        integer("reloadHardStopAfterMs", flag: "--reload-hard-stop-after", range: 0...604_800_000, unit: "milliseconds",
                note: "0 is no limit", override: { $0.reloadHardStopAfterMs }, \.reloadHardStopAfterMs),
    ] + HealthSettings.all

    /// The environment variable for a flag: `--max-conns` is `TESSERA_LB_MAX_CONNS`.
    static func variable(for flag: String) -> String {
        "TESSERA_LB_" + flag.dropFirst(2).uppercased().replacing("-", with: "_")
    }

    /// An integer setting; `unit` and `note` complete the range in messages ("between 1 and 600000 milliseconds").
    static func integer(
        _ fileKey: String,
        flag: String,
        range: ClosedRange<Int>,
        unit: String? = nil,
        note: String? = nil,
        override: @escaping @Sendable (ConfigOverrides) -> String?,
        _ keyPath: any WritableKeyPath<BalancerConfig, Int> & Sendable
    ) -> ScalarSetting {
        integer(fileKey, flag: flag, range: range, unit: unit, note: note, override: override,
                store: { $0[keyPath: keyPath] = $1 }, current: { $0[keyPath: keyPath] })
    }

    /// An integer setting whose unset value (nil) has a meaning of its own, such as "one worker per core".
    static func integer(
        _ fileKey: String,
        flag: String,
        range: ClosedRange<Int>,
        unit: String? = nil,
        note: String? = nil,
        override: @escaping @Sendable (ConfigOverrides) -> String?,
        _ keyPath: any WritableKeyPath<BalancerConfig, Int?> & Sendable
    ) -> ScalarSetting {
        integer(fileKey, flag: flag, range: range, unit: unit, note: note, override: override,
                store: { $0[keyPath: keyPath] = $1 }, current: { $0[keyPath: keyPath] })
    }

    private static func integer(
        _ fileKey: String,
        flag: String,
        range: ClosedRange<Int>,
        unit: String?,
        note: String?,
        override: @escaping @Sendable (ConfigOverrides) -> String?,
        store: @escaping @Sendable (inout BalancerConfig, Int) -> Void,
        current: @escaping @Sendable (BalancerConfig) -> Int?
    ) -> ScalarSetting {
        let rule = "between \(range.lowerBound) and \(range.upperBound)"
            + (unit.map { " \($0)" } ?? "") + (note.map { " (\($0))" } ?? "")
        return ScalarSetting(
            fileKey: fileKey, flag: flag, variable: variable(for: flag), fileType: .integer, override: override,
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
        _ fileKey: String,
        flag: String,
        override: @escaping @Sendable (ConfigOverrides) -> String?,
        _ keyPath: any WritableKeyPath<BalancerConfig, Choice> & Sendable
    ) -> ScalarSetting where Choice.RawValue == String {
        let names = Choice.allCases.map(\.rawValue)
        let rule = "must be " + names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
        return ScalarSetting(
            fileKey: fileKey, flag: flag, variable: variable(for: flag), fileType: .string, override: override,
            store: { text, config throws(ConfigProblem) in
                guard let choice = Choice(rawValue: text) else { throw ConfigProblem(rule) }
                config[keyPath: keyPath] = choice
            },
            current: { $0[keyPath: keyPath].rawValue }
        )
    }

    /// A true-or-false setting; in the config file it is a JSON boolean.
    static func boolean(
        _ fileKey: String,
        flag: String,
        variable: String,
        override: @escaping @Sendable (ConfigOverrides) -> String?,
        store: @escaping @Sendable (inout BalancerConfig, Bool) -> Void,
        current: @escaping @Sendable (BalancerConfig) -> Bool?
    ) -> ScalarSetting {
        ScalarSetting(
            fileKey: fileKey, flag: flag, variable: variable, fileType: .boolean, override: override,
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
