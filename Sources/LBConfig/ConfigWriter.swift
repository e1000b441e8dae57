/// Renders a configuration in the config file's format (docs/configuration.md): `tessera-lb run --print-config`.
///
/// Loading the text as a config file gives the same configuration back. Settings whose unset value has a meaning
/// of its own (`workers`: one per core, `health.port`: the p2p service's node port) are left out when unset.
public enum ConfigWriter {
    /// The configuration as a pretty-printed JSON object, without a trailing newline.
    public static func json(_ config: BalancerConfig) -> String {
        var root: [(key: String, value: Entry)] = [
            ("nodes", .list(config.nodes.map(node))),
            ("services", .list(config.services.map(service))),
        ]
        for setting in ScalarSetting.all {
            guard let text = setting.current(config) else { continue }
            let rendered = switch setting.fileType {
            case .integer, .boolean: text
            case .string: quoted(text)
            }
            insert(rendered, at: setting.fileKey.split(separator: ".").map(String.init), into: &root)
        }
        return Entry.object(root).render(indent: "")
    }

    /// A JSON value as it is laid out: objects one key per line, list entries one per line, each on one line.
    private indirect enum Entry {
        case scalar(String)
        case list([String])
        case object([(key: String, value: Entry)])

        func render(indent: String) -> String {
            let inner = indent + "  "
            switch self {
            case .scalar(let text):
                return text
            case .list(let entries):
                if entries.isEmpty { return "[]" }
                return "[\n" + entries.map { inner + $0 }.joined(separator: ",\n") + "\n\(indent)]"
            case .object(let fields):
                if fields.isEmpty { return "{}" }
                let lines = fields.map { "\(inner)\(quoted($0.key)): \($0.value.render(indent: inner))" }
                return "{\n" + lines.joined(separator: ",\n") + "\n\(indent)}"
            }
        }
    }

    private static func insert(_ rendered: String, at path: [String], into fields: inout [(key: String, value: Entry)]) {
        guard let key = path.first else { return }
        if path.count == 1 {
            fields.append((key, .scalar(rendered)))
            return
        }
        var nested: [(key: String, value: Entry)] = []
        let index = fields.firstIndex { $0.key == key }
        if let index, case .object(let existing) = fields[index].value { nested = existing }
        insert(rendered, at: Array(path.dropFirst()), into: &nested)
        if let index { fields[index].value = .object(nested) } else { fields.append((key, .object(nested))) }
    }

    /// A node as the file writes it: the host alone when the name is the host.
    private static func node(_ node: BalancerConfig.Node) -> String {
        node.name == node.host
            ? quoted(node.host)
            : "{\(quoted("host")): \(quoted(node.host)), \(quoted("name")): \(quoted(node.name))}"
    }

    private static func service(_ service: BalancerConfig.Service) -> String {
        let listen = if let path = service.listenPath {
            "\(quoted("listenPath")): \(quoted(path))"
        } else {
            "\(quoted("listenPort")): \(service.listenPort)"
        }
        let allow = service.allow.map { ", \(quoted("allow")): [" + $0.map(quoted).joined(separator: ", ") + "]" } ?? ""
        return "{\(quoted("name")): \(quoted(service.name)), \(listen), \(quoted("nodePort")): \(service.nodePort)\(allow)}"
    }

    /// A JSON string literal (RFC 8259: quote, backslash and control characters escaped); the JSON log lines
    /// use it too.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
