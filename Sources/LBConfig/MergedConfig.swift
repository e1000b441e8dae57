import LBBalancing

/// The configuration while the sources are laid over one another (defaults, config file, imported files,
/// environment, flags), remembering where each setting came from for the checks that span settings.
struct MergedConfig {
    var config = BalancerConfig()
    /// The value each setting last came from, by file key ("nodes", "services", "health.tls.keyFile").
    private(set) var origins: [String: GivenValue] = [:]
    /// Imported values that could not be derived, in the order found. A later source that gives the setting
    /// clears its entry; what is left is reported by `finish`.
    private var pending: [(key: String, error: ConfigError)] = []
    /// How many nodes the imported files describe; a later node list must name exactly that many.
    private var importedNodeCount: Int?
    /// The last node list given by the environment or the flags: its name and length.
    private var givenNodes: (name: String, count: Int)?
    /// Where each node of `config.nodes` was given, for the checks of `finish`.
    private var nodeOrigins: [GivenValue] = []

    /// Checks and stores one setting's value.
    mutating func store(_ setting: ScalarSetting, _ text: String, given: GivenValue) throws(ConfigError) {
        try given.check { () throws(ConfigProblem) in try setting.store(text, &config) }
        settled(setting.fileKey, by: given)
    }

    mutating func setNodes(
        _ nodes: [(node: BalancerConfig.Node, given: GivenValue)], given list: GivenValue
    ) throws(ConfigError) {
        try ListRules.checkNodes(nodes, list: list)
        config.nodes = nodes.map(\.node)
        nodeOrigins = nodes.map(\.given)
        settled("nodes", by: list)
    }

    mutating func setServices(
        _ services: [(service: BalancerConfig.Service, name: GivenValue, listen: GivenValue)],
        given list: GivenValue
    ) throws(ConfigError) {
        try ListRules.checkServices(services, list: list)
        config.services = services.map(\.service)
        settled("services", by: list)
    }

    mutating func turnOnHealthTLS() {
        if config.health.tls == nil { config.health.tls = BalancerConfig.Health.TLS() }
    }

    /// Lays flags or environment variables over the configuration.
    mutating func apply(_ source: SettingSource) throws(ConfigError) {
        if !source.nodes.isEmpty {
            var nodes: [(node: BalancerConfig.Node, given: GivenValue)] = []
            for text in source.nodes {
                let given = GivenValue(setting: source.nodesName, text: text, file: nil)
                let node = try given.check { () throws(ConfigProblem) in try NodeSyntax.parse(text) }
                nodes.append((node, given))
            }
            try setNodes(nodes, given: GivenValue(setting: source.nodesName, text: nil, file: nil))
            givenNodes = (source.nodesName, nodes.count)
        }
        if !source.services.isEmpty {
            var services: [(service: BalancerConfig.Service, name: GivenValue, listen: GivenValue)] = []
            for text in source.services {
                let given = GivenValue(setting: source.servicesName, text: text, file: nil)
                let service = try given.check { () throws(ConfigProblem) in try ServiceSyntax.parse(text) }
                services.append((service, given, given))
            }
            try setServices(services, given: GivenValue(setting: source.servicesName, text: nil, file: nil))
        }
        for setting in ScalarSetting.all {
            guard let text = source.value(setting) else { continue }
            try store(setting, text, given: source.given(setting, text))
        }
        for text in source.allow {
            let given = GivenValue(setting: source.allowName, text: text, file: nil)
            let (name, entries) = try given.check { () throws(ConfigProblem) in try AllowSyntax.parse(text) }
            guard let index = config.services.firstIndex(where: { $0.name == name }) else {
                throw given.error(
                    "no service is named \(name); the services are \(config.services.map(\.name).joined(separator: ", "))"
                )
            }
            config.services[index].allow = entries
        }
    }

    /// Lays imported settings over the configuration. Nothing here throws: a value that cannot be used is
    /// pending until a later source gives the setting instead.
    mutating func apply(_ imported: ImportedConfig) {
        importedNodeCount = imported.nodes.count
        var nodes: [(node: BalancerConfig.Node, given: GivenValue)] = []
        for derived in imported.nodes {
            switch derived {
            case .value(let node, let given): nodes.append((node, given))
            case .unavailable(let error): pending.append(("nodes", error))
            }
        }
        if nodes.count == imported.nodes.count, !nodes.isEmpty {
            applyImported("nodes") { (merged: inout MergedConfig) throws(ConfigError) in
                try merged.setNodes(nodes, given: imported.nodeList)
            }
        }
        switch imported.services {
        case .value(let services, let list)?:
            applyImported("services") { (merged: inout MergedConfig) throws(ConfigError) in
                try merged.setServices(services.map { ($0.service, $0.name, $0.listen) }, given: list)
            }
        case .unavailable(let error)?:
            pending.append(("services", error))
        case nil:
            break
        }
        if let tls = imported.healthTLS {
            config.health.tls = tls ? BalancerConfig.Health.TLS() : nil
        }
        for (key, derived) in imported.settings {
            guard let setting = ScalarSetting.all.first(where: { $0.fileKey == key }) else {
                preconditionFailure("an importer derived \(key), which is not a setting")
            }
            switch derived {
            case .value(let text, let given):
                applyImported(key) { (merged: inout MergedConfig) throws(ConfigError) in
                    try merged.store(setting, text, given: given)
                }
            case .unavailable(let error):
                pending.append((key, error))
            }
        }
    }

    /// The checks that need every source: an imported value nobody replaced, the number of nodes named for the
    /// imported files, at least one node, a client certificate with its key.
    func finish() throws(ConfigError) {
        if let importedNodeCount, let givenNodes, givenNodes.count != importedNodeCount {
            throw ConfigError(
                setting: givenNodes.name, value: nil,
                problem: "\(givenNodes.count) \(givenNodes.count == 1 ? "node" : "nodes") given for "
                    + "\(importedNodeCount) Tessera config \(importedNodeCount == 1 ? "file" : "files"); with Tessera "
                    + "config files, name one node per file, in the same order, or none"
            )
        }
        // Without active health, nothing reads the probe's settings.
        for (key, error) in pending where config.health.enabled || !key.hasPrefix("health.") {
            throw error
        }
        guard !config.nodes.isEmpty else {
            throw ConfigError(
                setting: NodeSyntax.flag, value: nil,
                problem: "at least one node is required; give --node HOST[:name], \"nodes\" in the config file, "
                    + "TESSERA_LB_NODES or --tessera-config FILE"
            )
        }
        try checkCertificateAndKey()
        try OwnListeners.check(config, nodes: nodeOrigins)
        if config.health.enabled { try checkProbeCanMatch() }
    }

    /// A probe whose expected answer no node can give keeps every node down, silently.
    private func checkProbeCanMatch() throws(ConfigError) {
        let health = config.health
        let body = health.expectBody.utf8.count
        if body > ProbeLimits.maxBodyBytes, let given = origins["health.expectBody"] {
            throw given.error(
                "is \(body) bytes; the probe reads at most \(ProbeLimits.maxBodyBytes) bytes of the answer, so it never matches"
            )
        }
        // RFC 9110: 204 and 304 answers have no body.
        if body > 0, [204, 304].contains(health.expectStatus),
           let given = origins["health.expectBody"] ?? origins["health.expectStatus"] {
            throw given.error(
                "a \(health.expectStatus) answer has no body, so a body is never matched; give --health-body \"\" "
                    + "(or \"expectBody\": \"\") with --health-status \(health.expectStatus)"
            )
        }
    }

    /// A client certificate without its key (or a key without its certificate) cannot be presented.
    private func checkCertificateAndKey() throws(ConfigError) {
        guard let tls = config.health.tls else { return }
        func other(_ key: String, _ flag: String) -> String {
            "health.tls.\(key), --health-\(flag) or TESSERA_LB_HEALTH_\(flag.uppercased())"
        }
        if tls.certificateFile != nil, tls.keyFile == nil, let given = origins["health.tls.certificateFile"] {
            throw given.error("a client certificate needs its key; give the key too (\(other("keyFile", "key")))")
        }
        if tls.keyFile != nil, tls.certificateFile == nil, let given = origins["health.tls.keyFile"] {
            throw given.error(
                "a client key needs its certificate; give the certificate too (\(other("certificateFile", "cert")))"
            )
        }
    }

    /// Records who gave a setting last; a pending imported value for it no longer matters.
    private mutating func settled(_ key: String, by given: GivenValue) {
        origins[key] = given
        pending.removeAll { $0.key == key }
    }

    /// Applies an imported value; if it is invalid, it is pending like one that could not be derived.
    private mutating func applyImported(_ key: String, _ body: (inout MergedConfig) throws(ConfigError) -> Void) {
        do {
            try body(&self)
        } catch {
            pending.append((key, error))
        }
    }
}
