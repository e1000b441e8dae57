import ArgumentParser
import Foundation
import LBAdminServer
import LBJSONLog
import LBConfig
import Logging
import TesseraLB

/// The flags of `tessera-lb run` for operating it: the admin listener and the logs (docs/operations.md).
///
/// Values are taken as text and checked in `resolve`, so a bad one gets the same one-line error and exit
/// status 2 as any other invalid setting.
struct AdminOptions: ParsableArguments {
    @OptionGroup var access: AdminAccessOptions

    @Option(
        name: .customLong("admin-max-conns"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "Admin connections served at once; more are closed as soon as accepted (default: \(AdminLimits.defaultMaxConnections)); also TESSERA_LB_ADMIN_MAX_CONNS.",
            valueName: "N"
        )
    )
    var adminMaxConns: String?

    @Option(
        name: .customLong("log-format"),
        parsing: .unconditional,
        help: ArgumentHelp("text or json, one object per line (default: text); also TESSERA_LB_LOG_FORMAT.", valueName: "FORMAT")
    )
    var logFormat: String?

    @Option(
        name: .customLong("log-level"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "trace, debug, info, notice, warning, error or critical (default: info); also TESSERA_LB_LOG_LEVEL.",
            valueName: "LEVEL"
        )
    )
    var logLevel: String?

    @Flag(name: .customLong("log-connections"), help: "A log line per connection when it ends: service, node, duration, bytes each way, how it ended.")
    var logConnections = false

    /// The flags checked and resolved.
    ///
    /// - Throws: `ConfigError` naming the flag, e.g. `invalid --admin "0.0.0.0:9990": ...`.
    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> AdminSettings {
        var settings = AdminSettings()
        settings.token = try AdminSettings.token(flag: access.adminToken, environment: environment)
        // Each flag has a TESSERA_LB_ variable (for containers); the flag wins.
        func given(_ flag: String?, _ variable: String) -> (setting: String, value: String)? {
            if let flag { return ("--" + variable.dropFirst(11).lowercased().replacing("_", with: "-"), flag) }
            if let value = environment[variable], !value.isEmpty { return (variable, value) }
            return nil
        }
        if case let (setting, admin)? = given(access.admin, "TESSERA_LB_ADMIN") {
            settings.endpointGiven = true
            if admin == "off" {
                settings.endpoint = nil
            } else {
                settings.endpoint = try AdminSettings.parseEndpoint(admin, setting: setting)
            }
            if let endpoint = settings.endpoint, !endpoint.isLoopback, settings.token == nil {
                throw ConfigError(
                    setting: setting, value: admin,
                    problem: "is not a loopback address, so the node control endpoints need --admin-token (or TESSERA_LB_ADMIN_TOKEN)"
                )
            }
        }
        if case let (setting, text)? = given(adminMaxConns, "TESSERA_LB_ADMIN_MAX_CONNS") {
            guard case .value(let n) = DecimalInteger.parse(text), (1...65_536).contains(n) else {
                throw ConfigError(setting: setting, value: text, problem: "must be a whole number from 1 to 65536")
            }
            settings.limits.maxConnections = n
        }
        if case let (setting, logFormat)? = given(logFormat, "TESSERA_LB_LOG_FORMAT") {
            guard let format = AdminSettings.LogFormat(rawValue: logFormat) else {
                throw ConfigError(setting: setting, value: logFormat, problem: "must be text or json")
            }
            settings.logFormat = format
        }
        if case let (setting, logLevel)? = given(logLevel, "TESSERA_LB_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: logLevel) else {
                throw ConfigError(
                    setting: setting, value: logLevel,
                    problem: "must be trace, debug, info, notice, warning, error or critical"
                )
            }
            settings.logLevel = level
        }
        settings.logConnections = logConnections
        return settings
    }
}

/// `--admin` and `--admin-token`: where the admin listener is and the token of its node control endpoints. `run`
/// serves it there; `ctl` and `health` ask it there.
struct AdminAccessOptions: ParsableArguments {
    @Option(
        name: .customLong("admin"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "The admin listener (status page, /status, /metrics, node control); run also takes off (default: 127.0.0.1:9990); also TESSERA_LB_ADMIN.",
            valueName: "ADDR:PORT|off"
        )
    )
    var admin: String?

    @Option(
        name: .customLong("admin-token"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "The token the node control endpoints require (Authorization: Bearer TOKEN); also TESSERA_LB_ADMIN_TOKEN.",
            valueName: "TOKEN"
        )
    )
    var adminToken: String?
}

/// The admin listener and log settings of `tessera-lb run`, checked.
struct AdminSettings {
    enum LogFormat: String {
        case text
        case json
    }

    /// nil: no admin listener.
    var endpoint: AdminEndpoint? = .standard
    /// Whether `--admin` was given (then a listener that cannot bind stops start-up).
    var endpointGiven = false
    var token: String?
    var limits = AdminLimits()
    var logFormat = LogFormat.text
    var logLevel = Logger.Level.info
    var logConnections = false

    /// Sets up swift-log for the whole process (once), in the chosen format and level, on standard output.
    func bootstrapLogging(label: String) -> Logger {
        let level = logLevel
        switch logFormat {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardOutput(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        }
        return Logger(label: label)
    }

    /// The admin server for `balancer`, if there is to be one, bound but not listening yet (`AdminServer.bind`):
    /// `run` binds it before the balancer's listeners open and listens once the balancer forwards (`listen`).
    ///
    /// The default address is best effort: when 127.0.0.1:9990 is taken (another tessera-lb on the host), the
    /// balancer runs without it and says so. An address given with `--admin` must bind.
    ///
    /// - Throws: `StartError` when an address given with `--admin` cannot be bound.
    /// - Parameter reload: what `POST /reload` does, given who asked.
    func bindAdminServer(
        for balancer: Balancer, logger: Logger, reload: (@Sendable (String) -> ReloadOutcome)? = nil
    ) throws -> AdminServer? {
        guard let endpoint else { return nil }
        let server = AdminServer(view: balancer.adminView, token: token, logger: logger, limits: limits, reload: reload)
        do {
            try server.bind(endpoint)
            return server
        } catch {
            server.stop()
            try unavailable(endpoint, error, logger: logger)
            return nil
        }
    }

    /// Starts `server` listening where `bindAdminServer` bound it, showing `view` (the balancer as it runs, now
    /// that it has started).
    func listen(_ server: AdminServer?, showing view: BalancerView, logger: Logger) throws -> AdminServer? {
        guard let server, let endpoint else { return nil }
        server.update(view: view)
        do {
            try server.start(at: endpoint)
            return server
        } catch {
            server.stop()
            try unavailable(endpoint, error, logger: logger)
            return nil
        }
    }

    private func unavailable(_ endpoint: AdminEndpoint, _ error: any Error, logger: Logger) throws {
        if endpointGiven {
            throw StartError(message: "cannot listen on the admin address \(endpoint): \(error)")
        }
        logger.warning(
            "no admin listener: the default address is taken; give --admin ADDR:PORT or --admin off",
            metadata: ["address": "\(endpoint)", "error": "\(error)"]
        )
    }

    static func parseEndpoint(_ text: String, setting: String) throws(ConfigError) -> AdminEndpoint {
        var problem = ""
        guard let endpoint = AdminEndpoint.parse(text, problem: &problem) else {
            throw ConfigError(setting: setting, value: text, problem: problem)
        }
        return endpoint
    }

    /// The token from `--admin-token`, else from TESSERA_LB_ADMIN_TOKEN (empty there counts as unset).
    static func token(flag: String?, environment: [String: String]) throws(ConfigError) -> String? {
        if let flag { return try checkToken(flag, setting: "--admin-token") }
        if let variable = environment["TESSERA_LB_ADMIN_TOKEN"], !variable.isEmpty {
            return try checkToken(variable, setting: "TESSERA_LB_ADMIN_TOKEN")
        }
        return nil
    }

    /// A token goes in an HTTP header: visible ASCII, no spaces.
    static func checkToken(_ token: String, setting: String) throws(ConfigError) -> String {
        guard !token.isEmpty, token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            // The value is a secret: the message does not repeat it.
            throw ConfigError(
                setting: setting, value: nil, problem: "must be one or more visible ASCII characters, without spaces"
            )
        }
        return token
    }
}
