internal import LBConfig

/// One balanced entry of `serverConfigs` (P2P, ThirdParty or Q2T), read and checked.
struct TesseraServer: Sendable {
    let app: TesseraApp
    /// The entry itself (`serverConfigs[2]`).
    let entry: GivenValue
    /// The `app` field, which names the service.
    let appField: GivenValue
    /// The advertised address: in an HA group, the balancer's.
    let serverAddress: TesseraAddress
    let serverAddressField: GivenValue
    /// The node's own address, if given.
    let bindingAddress: TesseraAddress?
    let bindingAddressField: GivenValue?
    /// The `sslConfig` object, if any (read further for P2P by `ProbeTLS`).
    let sslConfig: ConfigFileValue?

    /// Where the balancer reaches this server: the bindingAddress, falling back to the serverAddress.
    var nodeAddress: TesseraAddress { bindingAddress ?? serverAddress }
    var nodeAddressField: GivenValue { bindingAddressField ?? serverAddressField }

    /// Reads the entry `value`, whose `app` is `app` and balanced.
    init(
        app: TesseraApp, appField: GivenValue, value: ConfigFileValue, environment: [String: String]
    ) throws(ConfigError) {
        self.app = app
        self.appField = appField
        entry = value.given
        if let enabled = value.field("enabled"), try !enabled.flag(environment) {
            // Releases before 0.10 skipped a disabled server; current ones ignore the field and start it.
            throw enabled.given.error(
                "a disabled server is started by current Tessera releases and skipped by old ones, so tessera-lb "
                    + "cannot tell whether it runs; remove the entry or set enabled to true"
            )
        }
        guard let server = value.field("serverAddress") else {
            if value.field("serverSocket") != nil {
                throw value.given.error(
                    "has \"serverSocket\" (Tessera 0.8) instead of \"serverAddress\"; tessera-lb reads the form of "
                        + "Tessera 0.9 and later, as in \"serverAddress\": \"http://host:9000\""
                )
            }
            throw value.missing("serverAddress")
        }
        (serverAddress, serverAddressField) = try Self.address(server, environment)
        if serverAddress.bindsEveryInterface {
            throw serverAddressField.error(
                "Tessera does not accept an address that binds every interface as the advertised one; advertise "
                    + "the balancer's address and put the node's own in bindingAddress"
            )
        }
        if let binding = value.field("bindingAddress") {
            let (address, field) = try Self.address(binding, environment)
            guard address.scheme != .unix else {
                throw field.error(
                    "must be http:// or https://; Tessera binds only those (a unix socket goes in serverAddress)"
                )
            }
            guard serverAddress.scheme == .unix || address.scheme == serverAddress.scheme else {
                throw field.error(
                    "is \(address.scheme.rawValue):// but serverAddress is \(serverAddress.scheme.rawValue)://; "
                        + "a server speaks one of them, so both must use the same scheme"
                )
            }
            (bindingAddress, bindingAddressField) = (address, field)
        } else {
            (bindingAddress, bindingAddressField) = (nil, nil)
        }
        sslConfig = value.field("sslConfig")
        try checkTLSMode(environment)
    }

    /// The address in `field`, with the field as it reads after its templates are filled in.
    private static func address(
        _ field: ConfigFileValue, _ environment: [String: String]
    ) throws(ConfigError) -> (TesseraAddress, GivenValue) {
        let text = try field.text(environment)
        let given = GivenValue(setting: field.path, text: text, file: field.file)
        return (try given.check { () throws(ConfigProblem) in try TesseraAddress.parse(text) }, given)
    }

    /// Tessera serves TLS only with `tls: STRICT` and an https address; any other pairing serves plain HTTP on
    /// an address that says otherwise, or the reverse.
    private func checkTLSMode(_ environment: [String: String]) throws(ConfigError) {
        guard serverAddress.scheme != .unix else { return }
        var strict = false
        if let sslConfig {
            guard let tls = sslConfig.field("tls") else { throw sslConfig.missing("tls") }
            switch try tls.text(environment) {
            case "STRICT": strict = true
            case "OFF": strict = false
            default: throw tls.given.error("must be STRICT or OFF")
            }
            if strict, serverAddress.scheme == .http {
                throw tls.given.error(
                    "TLS is on but serverAddress is http://, so Tessera serves plain HTTP; use https:// addresses "
                        + "or set tls to OFF"
                )
            }
        }
        if !strict, serverAddress.scheme == .https {
            throw serverAddressField.error(
                "is https:// but the server's sslConfig does not set tls to STRICT, so Tessera serves plain HTTP; "
                    + "set tls to STRICT or use http://"
            )
        }
    }
}
