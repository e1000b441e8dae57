import LBBalancing

/// Every setting of `tessera-lb run` and `check-config`, once: its config file key, flag, environment variable,
/// type, range, default and help. The flags (`CommandLineSettings`), the environment (`EnvironmentVariables`),
/// the config file (`ConfigFileReader`), `--print-config` (`ConfigWriter`), a reload's list of changes, `--help`
/// and the table in docs/configuration.md (`SettingsDocs`; a test compares them) all read it.
///
/// A new setting is one entry here (the builders in `ScalarSetting` make the check and the message from a type
/// and a range) plus its field in `BalancerConfig`, whose initial value is the default, and its use; see
/// docs/internals/settings.md.
public enum SettingsTable {
    /// One row: a single value, or one of the lists (or files) that the loader treats apart.
    enum Entry: Sendable {
        case list(ListSetting)
        case scalar(ScalarSetting)

        var scalar: ScalarSetting? {
            if case .scalar(let setting) = self { setting } else { nil }
        }
    }

    typealias TLS = BalancerConfig.Health.TLS

    /// In the order of the docs, `--help`, the environment's misspelling check and `--print-config`.
    static let all: [Entry] = [
        .list(.configFile),
        .list(.tesseraConfigs),
        .list(.nodes),
        .list(.services),
        .list(.allow),
        .scalar(.text(
            "listen", flag: "--listen", value: "ADDR", help: "The IPv4 or IPv6 address the listeners bind.",
            allowed: "an IPv4 or IPv6 address literal",
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
        )),
        .scalar(.integer("workers", flag: "--workers", value: "N", range: 1...256,
                         help: "Forwarding worker threads.", unset: "one per core", \.workers)),
        .scalar(.choice("balance", flag: "--balance", value: "ALGORITHM",
                        help: "How a node is picked for a new connection.", \.balance)),
        .scalar(.integer("maxConns", flag: "--max-conns", value: "N", range: 1...1_000_000,
                         help: "Open client connections across all workers.", \.maxConnections)),
        .scalar(.integer("connectTimeoutMs", flag: "--connect-timeout", value: "MS", range: 1...600_000,
                         unit: "milliseconds", help: "Connect timeout to a node.", \.connectTimeoutMs)),
        .scalar(.integer("idleTimeoutMs", flag: "--idle-timeout", value: "MS", range: 0...86_400_000,
                         unit: "milliseconds", note: "0 is off", help: "Idle timeout of a connection.",
                         \.idleTimeoutMs)),
        .scalar(.integer("maxFails", flag: "--max-fails", value: "N", range: 0...1000,
                         note: "0 turns passive health checks off",
                         help: "Failed connects within --fail-timeout that take a node out.", \.maxFails)),
        .scalar(.integer("failTimeoutMs", flag: "--fail-timeout", value: "MS", range: 1...3_600_000,
                         unit: "milliseconds", help: "The window for --max-fails and how long a node stays out.",
                         \.failTimeoutMs)),
        .scalar(.choice("forward", flag: "--forward", value: "MODE",
                        help: "How bytes move between the sockets (auto: copy, then splice for bulk data).",
                        \.forward)),
        .scalar(.choice("engine", flag: "--engine", value: "ENGINE",
                        help: "The workers' event engine (auto: io_uring where the kernel allows it, else epoll).",
                        \.engine)),
        // Above /proc/sys/fs/pipe-max-size only with CAP_SYS_RESOURCE; the workers fall back to what they get.
        .scalar(.integer("pipeSize", flag: "--pipe-size", value: "BYTES", range: 4096...67_108_864, unit: "bytes",
                         help: "Pipe capacity for splice.", \.pipeSize)),
        .scalar(.integer("nodeUserTimeoutMs", flag: "--node-user-timeout", value: "MS", range: 0...600_000,
                         unit: "milliseconds", note: "0 keeps the kernel's default",
                         help: "TCP_USER_TIMEOUT on node sockets.", \.nodeUserTimeoutMs)),
        // TCP_KEEPIDLE takes at most 32767 seconds.
        .scalar(.integer("nodeKeepaliveSeconds", flag: "--node-keepalive", value: "SECONDS", range: 0...32_767,
                         unit: "seconds", note: "0 is off", help: "TCP keepalive idle time on node sockets.",
                         \.nodeKeepaliveSeconds)),
        .scalar(.choice("allDown", flag: "--all-down", value: "POLICY",
                        help: "With every node down: refuse new clients, or send them to the least recently failed node.",
                        \.allDown)),
        .scalar(.integer("drainTimeoutMs", flag: "--drain-timeout", value: "MS", range: 0...3_600_000,
                         unit: "milliseconds", note: "0 closes at once",
                         help: "On SIGTERM/SIGINT, how long open connections may finish.", \.drainTimeoutMs)),
        .scalar(.integer("acceptGraceMs", flag: "--accept-grace", value: "MS", range: 0...600_000,
                         unit: "milliseconds", note: "0 closes the listeners at once",
                         help: "On SIGTERM/SIGINT, how long to report not-ready but keep accepting before draining.",
                         \.acceptGraceMs)),
        .scalar(.boolean("freebind", flag: "--freebind", flagMeans: true, variable: "TESSERA_LB_FREEBIND",
                         help: "Listen on addresses this host does not hold yet (IP_FREEBIND): the standby of a pair behind a floating address.",
                         store: { $0.freebind = $1 }, current: { $0.freebind })),
        .scalar(.integer("groupCheckIntervalMs", flag: "--group-check-interval", value: "MS", range: 0...86_400_000,
                         unit: "milliseconds", note: "0 is off",
                         help: "How often to ask every node for its keys, version and partyinfo.",
                         \.groupCheckIntervalMs)),
        .scalar(.choice("groupPolicy", flag: "--group-policy", value: "POLICY",
                        help: "What to do about a node whose own keys differ from the majority's: report it, or hold it out of new connections.",
                        \.groupPolicy)),
        .scalar(.choice("mirrorPartyinfo", flag: "--mirror-partyinfo", value: "on|off",
                        help: "Send every POST /partyinfo on the p2p service to the other nodes that are up too.",
                        \.mirrorPartyinfo)),
        .scalar(.text(
            "unixMode", flag: "--unix-mode", value: "MODE", help: "Permissions of the unix-socket listeners' files.",
            allowed: "octal permission bits, at most `0777`", unset: "as the umask leaves them",
            store: { text, config throws(ConfigProblem) in config.unixMode = try UnixSocketAccess.mode(text) },
            current: { $0.unixMode.map { UnixSocketAccess.octal($0) } }
        )),
        .scalar(.text(
            "unixOwner", flag: "--unix-owner", value: "USER[:GROUP]", help: "Owner of the unix-socket listeners' files.",
            allowed: "`USER`, `USER:GROUP` or `:GROUP`, names or numbers", unset: "the balancer's user and group",
            store: { text, config throws(ConfigProblem) in
                _ = try UnixSocketAccess.owner(text)
                config.unixOwner = text
            },
            current: { $0.unixOwner }
        )),
        .scalar(.integer("reloadHardStopAfterMs", flag: "--reload-hard-stop-after", value: "MS", range: 0...604_800_000,
                         unit: "milliseconds", note: "0 is no limit",
                         help: "After a reload, how long the previous configuration's connections may go on.",
                         \.reloadHardStopAfterMs)),
        // The active probe (docs/health.md).
        .scalar(.boolean("health.enabled", flag: "--no-health", flagMeans: false, variable: "TESSERA_LB_HEALTH",
                         help: "Turn the active health probe off (passive health checks stay).",
                         store: { $0.health.enabled = $1 }, current: { $0.health.enabled })),
        .scalar(.integer("health.port", flag: "--health-port", value: "PORT", range: 1...65535,
                         help: "The node port probed.", unset: "the p2p service's node port (else the first service's)",
                         \.health.port)),
        .scalar(.text(
            "health.path", flag: "--health-path", value: "PATH", help: "The probe's path.",
            allowed: "starts with `/`; no spaces or control characters",
            store: { text, config throws(ConfigProblem) in
                // It goes into the request line as it is.
                guard text.hasPrefix("/"), !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F })
                else { throw ConfigProblem("must start with '/' and contain no spaces or control characters") }
                config.health.path = text
            },
            current: { $0.health.path }
        )),
        // A 1xx answer is never the final one, so 100 to 199 could never match.
        .scalar(.integer("health.expectStatus", flag: "--health-status", value: "CODE", range: 200...599,
                         help: "The status a healthy node answers.", \.health.expectStatus)),
        .scalar(.text(
            "health.expectBody", flag: "--health-body", value: "TEXT", help: "Text a healthy answer contains.",
            allowed: "up to \(ProbeLimits.maxBodyBytes) bytes; empty turns the body check off",
            store: { text, config throws(ConfigProblem) in config.health.expectBody = text },
            current: { $0.health.expectBody }
        )),
        .scalar(.integer("health.intervalMs", flag: "--health-interval", value: "MS", range: 10...3_600_000,
                         unit: "milliseconds", help: "Time between probes.", \.health.intervalMs)),
        .scalar(.integer("health.fastIntervalMs", flag: "--health-fast-interval", value: "MS", range: 10...3_600_000,
                         unit: "milliseconds", help: "Time between probes while a node changes state.",
                         \.health.fastIntervalMs)),
        .scalar(.integer("health.timeoutMs", flag: "--health-timeout", value: "MS", range: 1...600_000,
                         unit: "milliseconds", help: "A probe's timeout.", \.health.timeoutMs)),
        .scalar(.integer("health.rise", flag: "--health-rise", value: "N", range: 1...100,
                         help: "Passed probes that bring a node up.", \.health.rise)),
        .scalar(.integer("health.fall", flag: "--health-fall", value: "N", range: 1...100,
                         help: "Failed probes that take a node down.", \.health.fall)),
        .scalar(.choice("health.initialState", flag: "--health-initial", value: "STATE",
                        help: "A node's state before its first probes.", \.health.initialState)),
        .scalar(.choice("health.scope", flag: "--health-scope", value: "SCOPE",
                        help: "node: one probe per node; service: each service's port too.", \.health.scope)),
        .scalar(.choice("health.onMarkedDown", flag: "--on-marked-down", value: "POLICY",
                        help: "Open connections of a node marked down: close them, or keep them.",
                        \.health.onMarkedDown)),
        .scalar(HealthSettings.file("health.tls.caFile", flag: "--health-ca",
                                    help: "PEM CA file the probe trusts; turns HTTPS on.",
                                    unset: "the system's trust store", \.caFile)),
        .scalar(HealthSettings.file("health.tls.certificateFile", flag: "--health-cert",
                                    help: "PEM client certificate the probe presents; needs --health-key.",
                                    unset: "none", \.certificateFile)),
        .scalar(HealthSettings.file("health.tls.keyFile", flag: "--health-key", help: "PEM key of --health-cert.",
                                    unset: "none", \.keyFile)),
        .scalar(.text(
            "health.tls.serverName", flag: "--health-server-name", value: "NAME",
            help: "The name the probe sends (SNI) and verifies.", allowed: "a host name or an IP address",
            unset: "the node's host",
            store: { text, config throws(ConfigProblem) in
                let nameCharacter = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || "-._".contains(c)) }
                guard !text.isEmpty, IPAddressLiteral.isIP(text) || text.allSatisfy(nameCharacter) else {
                    throw ConfigProblem("must be a host name (letters, digits, '-', '.', '_') or an IP address")
                }
                HealthSettings.setTLS(&config) { $0.serverName = text }
            },
            current: { $0.health.tls?.serverName }
        )),
        .scalar(.boolean(
            "health.tls.insecure", flag: "--health-insecure", flagMeans: true, variable: "TESSERA_LB_HEALTH_INSECURE",
            help: "Probe with HTTPS without verifying the certificate (testing only).", unset: "false",
            store: { config, insecure in HealthSettings.setTLS(&config) { $0.insecure = insecure } },
            // Always written when TLS is on, so a printed config keeps TLS on even with no other TLS setting.
            current: { $0.health.tls?.insecure }
        )),
    ]
}

extension SettingsTable.Entry {
    var flag: String {
        switch self {
        case .list(let list): list.flag
        case .scalar(let setting): setting.flag
        }
    }

    var variable: String {
        switch self {
        case .list(let list): list.variable
        case .scalar(let setting): setting.variable
        }
    }

    var fileKey: String? {
        switch self {
        case .list(let list): list.fileKey
        case .scalar(let setting): setting.fileKey
        }
    }

    /// `--workers <N>`, `--freebind`.
    var usage: String {
        switch self {
        case .list(let list): "\(list.flag) <\(list.valueName)>"
        case .scalar(let setting): setting.valueName.map { "\(setting.flag) <\($0)>" } ?? setting.flag
        }
    }

    /// The default in the docs' words; a value the configuration holds is in backticks.
    var defaultText: String {
        switch self {
        case .list(let list): list.unset
        case .scalar(let setting): setting.defaultValue.map { "`\($0)`" } ?? setting.unset ?? "none"
        }
    }

    var allowed: String {
        switch self {
        case .list(let list): list.allowed
        case .scalar(let setting): setting.allowed
        }
    }

    /// What `--help` says: the help, the values and the default, without the docs' markup.
    var helpSentence: String {
        let help = switch self {
        case .list(let list): list.help
        case .scalar(let setting): setting.help
        }
        // A flag without a value says what it sets; a link of the docs keeps only its text.
        let allowed = if case .scalar(let setting) = self, let bare = setting.bareValue {
            "sets \(setting.fileKey) to \(bare)"
        } else {
            allowed.replacing(/\[(.*?)\]\(.*?\)/) { String($0.1) }
        }
        return "\(help) (\(allowed); default: \(defaultText))".replacing("`", with: "")
    }
}

/// A setting that is a list, or a file the loader reads before the others: the loader applies each its own way
/// (a list given by a later source replaces the earlier one). Its flag is repeatable, except `--config`.
struct ListSetting: Sendable {
    /// The key path in the config file; nil for the files, which are flags and variables only.
    let fileKey: String?
    let flag: String
    let variable: String
    let valueName: String
    let repeatable: Bool
    let help: String
    /// The values it takes, in the docs' words, with how the variable separates them.
    let allowed: String
    let unset: String
    /// Adds a flag's value to the command line's settings.
    let add: @Sendable (inout ConfigOverrides, String) -> Void

    static let configFile = ListSetting(
        fileKey: nil, flag: "--config", variable: "TESSERA_LB_CONFIG", valueName: "FILE", repeatable: false,
        help: "A JSON config file; the environment and the flags override its settings.",
        allowed: "a JSON file ([below](#the-config-file))", unset: "none",
        add: { $0.configFile = $1 }
    )
    static let tesseraConfigs = ListSetting(
        fileKey: nil, flag: "--tessera-config", variable: "TESSERA_LB_TESSERA_CONFIGS", valueName: "FILE",
        repeatable: true,
        help: "A Tessera node's config file; repeat for each node. Gives the nodes, services, probe port and TLS.",
        allowed: "Tessera config files, one per node; the variable separates them with commas", unset: "none",
        add: { $0.tesseraConfigs.append($1) }
    )
    static let nodes = ListSetting(
        fileKey: "nodes", flag: "--node", variable: "TESSERA_LB_NODES", valueName: "HOST[:name]", repeatable: true,
        help: "A Tessera node; repeat for each. IPv6 with a name: [ADDR]:name. Replaces the earlier sources' nodes.",
        allowed: "1 to 64 nodes with unique names; the variable separates them with commas",
        unset: "none; at least one is required",
        add: { $0.nodes.append($1) }
    )
    static let services = ListSetting(
        fileKey: "services", flag: "--service", variable: "TESSERA_LB_SERVICES",
        valueName: "NAME=LISTENPORT[:NODEPORT]", repeatable: true,
        help: "A balanced service; repeat for each. Replaces the defaults. NAME=unix:PATH:NODEPORT listens on a unix socket.",
        allowed: "unique names, listen ports and socket paths; the variable separates them with commas",
        unset: BalancerConfig.defaultServices.map { "\($0.name)=\($0.listenPort)" }.joined(separator: ", "),
        add: { $0.services.append($1) }
    )
    static let allow = ListSetting(
        fileKey: "services[].allow", flag: "--allow", variable: "TESSERA_LB_ALLOW",
        valueName: "SERVICE=ENTRY[,ENTRY...]", repeatable: true,
        help: "Admit only these clients to a service: addresses, networks (ADDRESS/PREFIX) or host names.",
        allowed: "addresses, networks `ADDRESS/PREFIX`, host names; the variable separates the items with semicolons",
        unset: "every client is admitted",
        add: { $0.allow.append($1) }
    )
}
