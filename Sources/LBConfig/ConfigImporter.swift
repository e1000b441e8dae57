/// Reads another program's configuration into balancer settings. LBTessera's `TesseraConfigImporter` reads Tessera
/// node config files (`--tessera-config`); `ConfigLoader` merges what it derives over the config file and under
/// the environment and the flags.
public protocol ConfigImporter: Sendable {
    /// Reads `files`, one per node, in order.
    ///
    /// - Parameters:
    ///   - files: The files as given.
    ///   - setting: Where the list came from, for errors: `--tessera-config` or `TESSERA_LB_TESSERA_CONFIGS`.
    ///   - environment: For `${VAR}` templates in the files.
    /// - Throws: The first problem that makes the files unusable, naming the file and the field.
    func importSettings(files: [String], setting: String, environment: [String: String]) throws(ConfigError)
        -> ImportedConfig
}

/// What an importer derived, each value with the field it came from so a bad one is named by that field.
///
/// Its contents are visible inside this package only; outside, an `ImportedConfig` comes from an importer.
public struct ImportedConfig: Sendable {
    /// A derived value, or why none could be derived. The reason is an error only when no later source (an
    /// environment variable or a flag) gives the setting: `--node` names a node whose bindingAddress is 0.0.0.0.
    package enum Derived<Value: Sendable>: Sendable {
        case value(Value, GivenValue)
        case unavailable(ConfigError)
    }

    /// A derived service with the fields that gave its name and its listen port.
    package struct ServiceEntry: Sendable {
        package var service: BalancerConfig.Service
        package var name: GivenValue
        package var listen: GivenValue

        package init(service: BalancerConfig.Service, name: GivenValue, listen: GivenValue) {
            self.service = service
            self.name = name
            self.listen = listen
        }
    }

    /// One node per file, in order.
    package var nodes: [Derived<BalancerConfig.Node>]
    /// Names the node list as a whole (`--tessera-config`), for "65 nodes given".
    package var nodeList: GivenValue
    /// The services, with the value that names the list as a whole; nil when the files say nothing about them.
    package var services: Derived<[ServiceEntry]>?
    /// Single-valued settings by config file key (`health.port`, `health.tls.caFile`), as text.
    package var settings: [(key: String, value: Derived<String>)]
    /// Whether the probe speaks HTTPS; true starts from empty TLS settings, which `settings` fill. nil: not derived.
    package var healthTLS: Bool?

    package init(
        nodes: [Derived<BalancerConfig.Node>],
        nodeList: GivenValue,
        services: Derived<[ServiceEntry]>?,
        settings: [(key: String, value: Derived<String>)],
        healthTLS: Bool?
    ) {
        self.nodes = nodes
        self.nodeList = nodeList
        self.services = services
        self.settings = settings
        self.healthTLS = healthTLS
    }
}
