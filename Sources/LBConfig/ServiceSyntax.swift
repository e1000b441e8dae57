/// How a service is written: `--service NAME=LISTENPORT[:NODEPORT]` or `--service NAME=unix:PATH:NODEPORT` on the
/// command line, `name`, `listenPort` or `listenPath`, and `nodePort` in the config file.
enum ServiceSyntax {
    static let flag = ListSetting.services.flag
    static let ports = 1...65535
    /// `sun_path` holds 108 bytes, the terminating NUL included.
    static let maxSocketPathBytes = 107
    static let forms = "expected NAME=LISTENPORT[:NODEPORT] or NAME=unix:PATH:NODEPORT"

    /// Parses `--service NAME=LISTENPORT[:NODEPORT]` (the node port defaults to the listen port) or
    /// `--service NAME=unix:PATH:NODEPORT` (a unix-socket listener; the node port is required).
    static func parse(_ text: String) throws(ConfigProblem) -> BalancerConfig.Service {
        guard let equals = text.firstIndex(of: "=") else { throw ConfigProblem(forms) }
        let name = try name(String(text[..<equals]))
        let value = text[text.index(after: equals)...]
        if value.hasPrefix("unix:") {
            // The path may itself contain ':', so the node port is what follows the last one.
            let rest = value.dropFirst("unix:".count)
            guard let colon = rest.lastIndex(of: ":") else {
                throw ConfigProblem("expected NAME=unix:PATH:NODEPORT; a unix-socket service needs its node port")
            }
            let path = try socketPath(String(rest[..<colon]))
            let nodePort = try port(String(rest[rest.index(after: colon)...]), role: "node port")
            return BalancerConfig.Service(name: name, listenPort: 0, nodePort: nodePort, listenPath: path)
        }
        let ports = value.split(separator: ":", omittingEmptySubsequences: false)
        guard ports.count <= 2 else { throw ConfigProblem(forms) }
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

    /// Checks the path of a unix-socket listener.
    static func socketPath(_ text: String) throws(ConfigProblem) -> String {
        if text.isEmpty { throw ConfigProblem("the socket path is empty") }
        // Relative paths would depend on the directory the balancer happens to start in.
        guard text.hasPrefix("/") else { throw ConfigProblem("the socket path must be absolute (start with '/')") }
        guard !text.hasSuffix("/") else { throw ConfigProblem("the socket path names a directory (it ends with '/')") }
        guard !text.contains("\0") else { throw ConfigProblem("the socket path contains a NUL character") }
        let bytes = text.utf8.count
        guard bytes <= maxSocketPathBytes else {
            throw ConfigProblem(
                "the socket path is \(bytes) bytes long; a unix socket address holds at most \(maxSocketPathBytes)"
            )
        }
        return text
    }

    /// Checks one of the ports in a `--service` value; `role` says which.
    private static func port(_ text: String, role: String) throws(ConfigProblem) -> Int {
        guard case .value(let number) = DecimalInteger.parse(text), ports.contains(number) else {
            throw ConfigProblem("the \(role) must be between \(ports.lowerBound) and \(ports.upperBound)")
        }
        return number
    }
}
