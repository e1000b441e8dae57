/// The settings of the `health` object: the active probe (see docs/configuration.md).
enum HealthSettings {
    typealias TLS = BalancerConfig.Health.TLS

    static let all: [ScalarSetting] = [
        // `--no-health` is the only flag; its value is "false". The variable takes true or false.
        ScalarSetting.boolean(
            "health.enabled", flag: "--no-health", variable: "TESSERA_LB_HEALTH", override: { $0.healthEnabled },
            store: { $0.health.enabled = $1 }, current: { $0.health.enabled }
        ),
        ScalarSetting.integer("health.port", flag: "--health-port", range: 1...65535,
                              override: { $0.healthPort }, \.health.port),
        ScalarSetting(
            fileKey: "health.path", flag: "--health-path", variable: "TESSERA_LB_HEALTH_PATH", fileType: .string,
            override: { $0.healthPath },
            store: { text, config throws(ConfigProblem) in
                // It goes into the request line as it is.
                guard text.hasPrefix("/"), !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F })
                else { throw ConfigProblem("must start with '/' and contain no spaces or control characters") }
                config.health.path = text
            },
            current: { $0.health.path }
        ),
        // A 1xx answer is never the final one, so 100 to 199 could never match.
        ScalarSetting.integer("health.expectStatus", flag: "--health-status", range: 200...599,
                              override: { $0.healthStatus }, \.health.expectStatus),
        ScalarSetting(
            fileKey: "health.expectBody", flag: "--health-body", variable: "TESSERA_LB_HEALTH_BODY",
            fileType: .string, override: { $0.healthBody },
            store: { text, config throws(ConfigProblem) in config.health.expectBody = text },
            current: { $0.health.expectBody }
        ),
        ScalarSetting.integer("health.intervalMs", flag: "--health-interval", range: 10...3_600_000,
                              unit: "milliseconds", override: { $0.healthIntervalMs }, \.health.intervalMs),
        ScalarSetting.integer("health.fastIntervalMs", flag: "--health-fast-interval", range: 10...3_600_000,
                              unit: "milliseconds", override: { $0.healthFastIntervalMs }, \.health.fastIntervalMs),
        ScalarSetting.integer("health.timeoutMs", flag: "--health-timeout", range: 1...600_000,
                              unit: "milliseconds", override: { $0.healthTimeoutMs }, \.health.timeoutMs),
        ScalarSetting.integer("health.rise", flag: "--health-rise", range: 1...100,
                              override: { $0.healthRise }, \.health.rise),
        ScalarSetting.integer("health.fall", flag: "--health-fall", range: 1...100,
                              override: { $0.healthFall }, \.health.fall),
        ScalarSetting.choice("health.initialState", flag: "--health-initial",
                             override: { $0.healthInitial }, \.health.initialState),
        ScalarSetting.choice("health.scope", flag: "--health-scope", override: { $0.healthScope }, \.health.scope),
        ScalarSetting.choice("health.onMarkedDown", flag: "--on-marked-down",
                             override: { $0.onMarkedDown }, \.health.onMarkedDown),
        file("health.tls.caFile", flag: "--health-ca", override: { $0.healthCA }, \.caFile),
        file("health.tls.certificateFile", flag: "--health-cert", override: { $0.healthCert }, \.certificateFile),
        file("health.tls.keyFile", flag: "--health-key", override: { $0.healthKey }, \.keyFile),
        ScalarSetting(
            fileKey: "health.tls.serverName", flag: "--health-server-name", variable: "TESSERA_LB_HEALTH_SERVER_NAME",
            fileType: .string, override: { $0.healthServerName },
            store: { text, config throws(ConfigProblem) in
                let nameCharacter = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || "-._".contains(c)) }
                guard !text.isEmpty, IPAddressLiteral.isIP(text) || text.allSatisfy(nameCharacter) else {
                    throw ConfigProblem("must be a host name (letters, digits, '-', '.', '_') or an IP address")
                }
                setTLS(&config) { $0.serverName = text }
            },
            current: { $0.health.tls?.serverName }
        ),
        ScalarSetting.boolean(
            "health.tls.insecure", flag: "--health-insecure", variable: "TESSERA_LB_HEALTH_INSECURE",
            override: { $0.healthInsecure },
            store: { config, insecure in setTLS(&config) { $0.insecure = insecure } },
            // Always written when TLS is on, so a printed config keeps TLS on even with no other TLS setting.
            current: { $0.health.tls?.insecure }
        ),
    ]

    /// Any TLS setting turns the probe's HTTPS on.
    private static func setTLS(_ config: inout BalancerConfig, _ change: (inout TLS) -> Void) {
        var tls = config.health.tls ?? TLS()
        change(&tls)
        config.health.tls = tls
    }

    /// A PEM file the probe reads; it must be readable now, so a typo fails at start rather than at the first probe.
    private static func file(
        _ fileKey: String,
        flag: String,
        override: @escaping @Sendable (ConfigOverrides) -> String?,
        _ keyPath: any WritableKeyPath<TLS, String?> & Sendable
    ) -> ScalarSetting {
        ScalarSetting(
            fileKey: fileKey, flag: flag, variable: ScalarSetting.variable(for: flag), fileType: .string,
            override: override,
            store: { text, config throws(ConfigProblem) in
                try ReadableFile.check(text)
                setTLS(&config) { $0[keyPath: keyPath] = text }
            },
            current: { $0.health.tls?[keyPath: keyPath] }
        )
    }
}
