/// Prometheus text exposition format 0.0.4, written by hand: `# HELP` and `# TYPE` once per family, then its
/// samples, label values escaped (`\\`, `\"`, `\n`).
/// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
struct PrometheusText {
    enum Kind: String {
        case counter
        case gauge
        case histogram
    }

    /// The Content-Type a scraper expects for this format.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private(set) var text = ""

    /// Starts a family; its samples must follow before the next family starts.
    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    mutating func sample(_ name: String, _ value: Int) { sample(name, [], value) }
    mutating func sample(_ name: String, _ value: Double) { sample(name, [], value) }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Int) {
        line(name, labels, String(value))
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        let rendered: String
        if value.isNaN {
            rendered = "NaN"
        } else if value.isInfinite {
            rendered = value > 0 ? "+Inf" : "-Inf"
        } else {
            rendered = "\(value)"
        }
        line(name, labels, rendered)
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Bool) {
        line(name, labels, value ? "1" : "0")
    }

    private mutating func line(_ name: String, _ labels: [(String, String)], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " \(value)\n"
    }

    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func escapeHelp(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }
}
