internal import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a JSON config file (docs/configuration.md) onto a `BalancerConfig`, naming the key path of any bad value.
struct ConfigFileReader {
    static let flag = "--config"
    /// Every top-level key: the two lists, then the single-valued settings.
    static let keys = ["nodes", "services"] + ScalarSetting.all.map(\.fileKey)

    /// The file, as given.
    let path: String

    func apply(to config: inout BalancerConfig) throws(ConfigError) {
        let root = ConfigFileValue(value: try read(), path: "", file: path)
        guard case .object = root.value else {
            throw fileError("expected a JSON object at the top level, got \(root.value.kind)")
        }
        let fields = try root.fields(allowed: Self.keys)
        if let nodes = fields["nodes"] { config.nodes = try readNodes(nodes) }
        if let services = fields["services"] { config.services = try readServices(services) }
        for setting in ScalarSetting.all {
            guard let field = fields[setting.fileKey] else { continue }
            let text = switch setting.fileType {
            case .integer: String(try field.integer())
            case .string: try field.string()
            }
            try field.given.check { () throws(ConfigProblem) in try setting.store(text, &config) }
        }
    }

    private func read() throws(ConfigError) -> JSONValue {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw fileError("cannot read it: \(Self.reason(error))")
        }
        if data.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
            throw fileError("the file is empty; it should hold a JSON object")
        }
        do {
            return JSONValue(try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed))
        } catch {
            throw fileError("not valid JSON: \(Self.describe(jsonError: error, in: data))")
        }
    }

    private func readNodes(_ list: ConfigFileValue) throws(ConfigError) -> [BalancerConfig.Node] {
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
        try ListRules.checkNodes(nodes, list: list.given)
        return nodes.map(\.node)
    }

    private func readServices(_ list: ConfigFileValue) throws(ConfigError) -> [BalancerConfig.Service] {
        var services: [(service: BalancerConfig.Service, name: GivenValue, listenPort: GivenValue)] = []
        for element in try list.elements() {
            let fields = try element.fields(allowed: ["name", "listenPort", "nodePort"])
            guard let nameField = fields["name"] else { throw element.missing("name") }
            guard let listenField = fields["listenPort"] else { throw element.missing("listenPort") }
            let nameText = try nameField.string()
            let name = try nameField.given.check { () throws(ConfigProblem) in try ServiceSyntax.name(nameText) }
            let listenPort = try port(listenField)
            let nodePort = if let nodeField = fields["nodePort"] { try port(nodeField) } else { Int?.none }
            let service = BalancerConfig.Service(name: name, listenPort: listenPort, nodePort: nodePort)
            services.append((service, nameField.given, listenField.given))
        }
        try ListRules.checkServices(services, list: list.given)
        return services.map(\.service)
    }

    private func port(_ field: ConfigFileValue) throws(ConfigError) -> Int {
        let number = try field.integer()
        return try field.given.check { () throws(ConfigProblem) in try ServiceSyntax.port(number) }
    }

    /// An error about the file as a whole, named by the flag that gave it.
    private func fileError(_ problem: String) -> ConfigError {
        GivenValue(setting: Self.flag, text: path, file: nil).error(problem)
    }

    /// The operating system's reason ("No such file or directory") rather than Foundation's wrapper text.
    private static func reason(_ error: any Error) -> String {
        let underlying = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? any Error).map { $0 as NSError }
        if let underlying, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return error.localizedDescription
    }

    /// Foundation's parse error, with its byte offset ("around character 15") turned into a line and column.
    private static func describe(jsonError: any Error, in data: Data) -> String {
        let detail = (jsonError as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            ?? jsonError.localizedDescription
        var message = detail.hasSuffix(".") ? String(detail.dropLast()) : detail
        message = message.prefix(1).lowercased() + message.dropFirst()
        guard let marker = message.range(of: " around character "),
              let offset = Int(message[marker.upperBound...]), offset <= data.count
        else { return message }
        let before = data.prefix(offset)
        let line = before.count(where: { $0 == 0x0A }) + 1
        let lineStart = before.lastIndex(of: 0x0A).map { $0 + 1 } ?? before.startIndex
        return "\(message[..<marker.lowerBound]) at line \(line), column \(offset - lineStart + 1)"
    }
}
