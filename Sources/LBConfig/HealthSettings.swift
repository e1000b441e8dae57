/// What the probe's TLS settings in `SettingsTable` share: any of them turns HTTPS on, and a PEM file must be
/// readable.
enum HealthSettings {
    typealias TLS = BalancerConfig.Health.TLS

    /// Any TLS setting turns the probe's HTTPS on.
    static func setTLS(_ config: inout BalancerConfig, _ change: (inout TLS) -> Void) {
        var tls = config.health.tls ?? TLS()
        change(&tls)
        config.health.tls = tls
    }

    /// A PEM file the probe reads; it must be readable now, so a typo fails at start rather than at the first probe.
    static func file(
        _ fileKey: String, flag: String, help: String, unset: String,
        _ keyPath: any WritableKeyPath<TLS, String?> & Sendable
    ) -> ScalarSetting {
        .text(
            fileKey, flag: flag, value: "FILE", help: help, allowed: "a readable PEM file", unset: unset,
            store: { text, config throws(ConfigProblem) in
                try ReadableFile.check(text)
                setTLS(&config) { $0[keyPath: keyPath] = text }
            },
            current: { $0.health.tls?[keyPath: keyPath] }
        )
    }
}
