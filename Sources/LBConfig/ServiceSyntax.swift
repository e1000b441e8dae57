/// How a service is written: `--service NAME=LISTENPORT[:NODEPORT]` on the command line,
/// `name`, `listenPort` and `nodePort` in the config file.
enum ServiceSyntax {
    static let flag = "--service"
    static let ports = 1...65535

    /// Parses `--service NAME=LISTENPORT[:NODEPORT]`; the node port defaults to the listen port.
    static func parse(_ text: String) throws(ConfigProblem) -> BalancerConfig.Service {
        guard let equals = text.firstIndex(of: "=") else { throw ConfigProblem("expected NAME=LISTENPORT[:NODEPORT]") }
        let name = try name(String(text[..<equals]))
        let ports = text[text.index(after: equals)...].split(separator: ":", omittingEmptySubsequences: false)
        guard ports.count <= 2 else { throw ConfigProblem("expected NAME=LISTENPORT[:NODEPORT]") }
        let listenPort = try port(String(ports[0]), role: "listen port")
        let nodePort = ports.count == 2 ? try port(String(ports[1]), role: "node port") : nil
        return BalancerConfig.Service(name: name, listenPort: listenPort, nodePort: nodePort)
    }

    static func name(_ text: String) throws(ConfigProblem) -> String {
        if text.isEmpty { throw ConfigProblem("the service name is empty") }
        guard text.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw ConfigProblem("the service name may contain only lowercase letters, digits, '-' and '_'")
        }
        return text
    }

    /// Checks a port given as a number in the config file.
    static func port(_ number: Int) throws(ConfigProblem) -> Int {
        guard ports.contains(number) else {
            throw ConfigProblem("must be a port between \(ports.lowerBound) and \(ports.upperBound)")
        }
        return number
    }

    /// Checks one of the ports in a `--service` value; `role` says which.
    private static func port(_ text: String, role: String) throws(ConfigProblem) -> Int {
        guard let number = Int(text), ports.contains(number) else {
            throw ConfigProblem("the \(role) must be between \(ports.lowerBound) and \(ports.upperBound)")
        }
        return number
    }
}
