internal import LBConfig

/// The health probe's HTTPS settings, from the P2P server's `sslConfig`.
///
/// The probe calls the node the way another Tessera node does, so it takes the node's client side:
/// - CA: `clientTrustCertificates` (what the node trusts in the servers it calls), else `serverTrustCertificates`;
///   exactly one file. `clientTrustMode: NONE` turns verification off, as it is off for the node itself.
/// - Client certificate (when `clientAuth` is on, Tessera's default): `clientTlsCertificatePath` and
///   `clientTlsKeyPath`, else `serverTlsCertificatePath` and `serverTlsKeyPath`.
/// - Server name: the host of the advertised `serverAddress`, which the certificate is issued for.
///
/// JKS keystores (`clientKeyStore`, `clientTrustStore`...) are not readable by tessera-lb.
enum ProbeTLS {
    typealias Derived = ImportedConfig.Derived<String>

    /// Whether the probe uses HTTPS, and its settings by config file key.
    static func derive(
        _ p2p: TesseraServer, environment: [String: String]
    ) throws(ConfigError) -> (tls: Bool, settings: [(key: String, value: Derived)]) {
        guard p2p.serverAddress.scheme == .https, let ssl = p2p.sslConfig else { return (false, []) }
        var settings: [(key: String, value: Derived)] = [
            ("health.tls.serverName", .value(p2p.serverAddress.host, p2p.serverAddressField))
        ]
        let mode = ssl.field("clientTrustMode")
        if let mode, try mode.text(environment) == "NONE" {
            settings.append(("health.tls.insecure", .value("true", mode.given)))
        } else if let ca = try trust(ssl, mode: mode, environment) {
            settings.append(("health.tls.caFile", ca))
        }
        if try ssl.field("clientAuth")?.flag(environment) ?? true {
            let (certificate, key) = try clientCertificate(ssl, environment)
            settings.append(("health.tls.certificateFile", certificate))
            settings.append(("health.tls.keyFile", key))
        }
        return (true, settings)
    }

    /// The CA file; nil leaves the system's trust store.
    private static func trust(
        _ ssl: ConfigFileValue, mode: ConfigFileValue?, _ environment: [String: String]
    ) throws(ConfigError) -> Derived? {
        for key in ["clientTrustCertificates", "serverTrustCertificates"] {
            guard let list = ssl.field(key) else { continue }
            let files = try list.elements()
            if files.isEmpty { continue }
            guard files.count == 1 else {
                return .unavailable(list.given.error(
                    "lists \(files.count) CA files and the probe takes one; put them in one PEM file and give it "
                        + "with --health-ca"
                ))
            }
            return .value(try files[0].text(environment), files[0].given(environment))
        }
        for key in ["clientTrustStore", "serverTrustStore"] {
            if let store = ssl.field(key) { return .unavailable(jks(store, "the CA", flags: "--health-ca")) }
        }
        if let mode, ["TOFU", "WHITELIST"].contains(try mode.text(environment)) {
            return .unavailable(mode.given.error(
                "pins certificates, which the probe cannot do, and no CA is listed; give the CA with --health-ca"
            ))
        }
        return nil
    }

    /// The client certificate and key files, each derived or not.
    private static func clientCertificate(
        _ ssl: ConfigFileValue, _ environment: [String: String]
    ) throws(ConfigError) -> (Derived, Derived) {
        for side in ["client", "server"] {
            let certificate = ssl.field("\(side)TlsCertificatePath")
            let key = ssl.field("\(side)TlsKeyPath")
            switch (certificate, key) {
            case (let certificate?, let key?):
                return (
                    .value(try certificate.text(environment), certificate.given(environment)),
                    .value(try key.text(environment), key.given(environment))
                )
            case (let one?, nil), (nil, let one?):
                let missing = one.path.hasSuffix("KeyPath") ? "\(side)TlsCertificatePath" : "\(side)TlsKeyPath"
                let error = one.given.error(
                    "has no \(missing) to go with it, so the probe cannot present a client certificate"
                )
                return (.unavailable(error), .unavailable(error))
            case (nil, nil):
                if let store = ssl.field("\(side)KeyStore") {
                    let error = jks(store, "a client certificate and key", flags: "--health-cert and --health-key")
                    return (.unavailable(error), .unavailable(error))
                }
            }
        }
        let error = ssl.given.error(
            "clientAuth is on (Tessera's default) but there is no PEM client certificate for the probe; give one with "
                + "--health-cert and --health-key, or set clientAuth to false if the node does not ask for one"
        )
        return (.unavailable(error), .unavailable(error))
    }

    private static func jks(_ store: ConfigFileValue, _ what: String, flags: String) -> ConfigError {
        store.given.error(
            "is a JKS keystore, which tessera-lb cannot read; give the probe \(what) as PEM with \(flags) "
                + "(or use the PEM fields of sslConfig)"
        )
    }
}
