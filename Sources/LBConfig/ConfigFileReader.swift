/// Reads a JSON config file (docs/configuration.md) onto the configuration, naming the key path of any bad value.
struct ConfigFileReader {
    static let flag = ListSetting.configFile.flag

    /// The file, as given.
    let path: String
    /// What gave the file: `--config` or `TESSERA_LB_CONFIG`.
    var setting = Self.flag

    func apply(to merged: inout MergedConfig) throws(ConfigError) {
        let root = ConfigFileValue(
            value: try JSONFile.readObject(path, given: GivenValue(setting: setting, text: path, file: nil)),
            path: "", file: path
        )
        var leaves: [String: ConfigFileValue] = [:]
        try collect(root, section: "", into: &leaves, merged: &merged)
        if let nodes = leaves["nodes"] { try merged.setNodes(try readNodes(nodes), given: nodes.given) }
        if let services = leaves["services"] {
            try merged.setServices(try readServices(services), given: services.given)
        }
        for setting in ScalarSetting.all {
            guard let field = leaves[setting.fileKey] else { continue }
            let text = switch setting.fileType {
            case .integer: try field.integerText()
            case .string: try field.string()
            case .boolean: String(try field.boolean())
            }
            try merged.store(setting, text, given: field.given)
        }
    }

    /// The keys allowed in the object at `section` (a file key prefix, "" for the top level), in the docs' order:
    /// the settings' next key components, which name either a setting or a nested section.
    static func keys(in section: String) -> [String] {
        let prefix = section.isEmpty ? "" : section + "."
        var keys = section.isEmpty ? ["nodes", "services"] : []
        for setting in ScalarSetting.all where setting.fileKey.hasPrefix(prefix) {
            let key = String(setting.fileKey.dropFirst(prefix.count).prefix { $0 != "." })
            if !keys.contains(key) { keys.append(key) }
        }
        return keys
    }

    /// Checks the keys of `object` (the section at `section`) and gathers its settings by file key, descending
    /// into nested sections.
    private func collect(
        _ object: ConfigFileValue,
        section: String,
        into leaves: inout [String: ConfigFileValue],
        merged: inout MergedConfig
    ) throws(ConfigError) {
        let fields = try object.fields(allowed: Self.keys(in: section))
        for (key, field) in fields {
            let fileKey = section.isEmpty ? key : "\(section).\(key)"
            if ScalarSetting.all.contains(where: { $0.fileKey.hasPrefix(fileKey + ".") }) {
                // An empty "tls": {} still says "probe with HTTPS".
                if fileKey == "health.tls", case .object = field.value { merged.turnOnHealthTLS() }
                try collect(field, section: fileKey, into: &leaves, merged: &merged)
            } else {
                leaves[fileKey] = field
            }
        }
    }

    private func readNodes(
        _ list: ConfigFileValue
    ) throws(ConfigError) -> [(node: BalancerConfig.Node, given: GivenValue)] {
        var nodes: [(node: BalancerConfig.Node, given: GivenValue)] = []
        for element in try list.elements() {
            switch element.value {
            case .string(let text):
                let host = try element.given.check { () throws(ConfigProblem) in try NodeSyntax.host(text) }
                nodes.append((BalancerConfig.Node(host: host), element.given))
            case .object:
                let fields = try element.fields(allowed: ["host", "name"])
                guard let hostField = fields["host"] else { throw element.missing("host") }
                let hostText = try hostField.string()
                let host = try hostField.given.check { () throws(ConfigProblem) in try NodeSyntax.host(hostText) }
                guard let nameField = fields["name"] else {
                    nodes.append((BalancerConfig.Node(host: host), element.given))
                    continue
                }
                let nameText = try nameField.string()
                let name = try nameField.given.check { () throws(ConfigProblem) in try NodeSyntax.name(nameText) }
                nodes.append((BalancerConfig.Node(host: host, name: name), nameField.given))
            default:
                throw element.given.error(
                    "expected a host string or an object with \"host\" and \"name\", got \(element.value.kind)"
                )
            }
        }
        return nodes
    }

    private func readServices(
        _ list: ConfigFileValue
    ) throws(ConfigError) -> [(service: BalancerConfig.Service, name: GivenValue, listen: GivenValue)] {
        var services: [(service: BalancerConfig.Service, name: GivenValue, listen: GivenValue)] = []
        for element in try list.elements() {
            let fields = try element.fields(allowed: ["name", "listenPort", "listenPath", "nodePort", "allow"])
            var allow: [String]?
            if let allowField = fields["allow"] {
                var entries: [String] = []
                for entry in try allowField.elements() {
                    let text = try entry.string()
                    entries.append(try entry.given.check { () throws(ConfigProblem) in try AllowSyntax.entry(text) })
                }
                allow = entries
            }
            guard let nameField = fields["name"] else { throw element.missing("name") }
            let nameText = try nameField.string()
            let name = try nameField.given.check { () throws(ConfigProblem) in try ServiceSyntax.name(nameText) }
            let nodePort = if let nodeField = fields["nodePort"] { try port(nodeField) } else { Int?.none }
            if let pathField = fields["listenPath"] {
                if let listenField = fields["listenPort"] {
                    throw listenField.given.error("a service listens on a port or a socket path (listenPath), not both")
                }
                // No listen port to default to: the node port must be said.
                guard let nodePort else { throw element.missing("nodePort") }
                let pathText = try pathField.string()
                let path = try pathField.given.check { () throws(ConfigProblem) in
                    try ServiceSyntax.socketPath(pathText)
                }
                let service = BalancerConfig.Service(name: name, listenPort: 0, nodePort: nodePort, listenPath: path, allow: allow)
                services.append((service, nameField.given, pathField.given))
                continue
            }
            guard let listenField = fields["listenPort"] else { throw element.missing("listenPort") }
            let service = BalancerConfig.Service(name: name, listenPort: try port(listenField), nodePort: nodePort, allow: allow)
            services.append((service, nameField.given, listenField.given))
        }
        return services
    }

    private func port(_ field: ConfigFileValue) throws(ConfigError) -> Int {
        if case .number(let text) = field.value, DecimalInteger.parse(text) == .tooLarge {
            throw field.given.error("must be a port between \(ServiceSyntax.ports.lowerBound) and \(ServiceSyntax.ports.upperBound)")
        }
        let number = try field.integer()
        return try field.given.check { () throws(ConfigProblem) in try ServiceSyntax.port(number) }
    }
}
