internal import LBConfig

/// A `serverAddress` or `bindingAddress` of a Tessera server: `http://HOST:PORT`, `https://HOST:PORT` or
/// `unix:/path/tm.ipc`. The path of an http(s) URL is ignored, as only host and port matter to a TCP balancer.
struct TesseraAddress: Equatable, Sendable {
    enum Scheme: String, Sendable {
        case http, https, unix
    }

    let scheme: Scheme
    /// The host, without IPv6 brackets; empty for unix.
    let host: String
    /// 0 for unix.
    let port: Int
    /// The socket path of a unix address; empty otherwise.
    let socketPath: String

    /// `0.0.0.0` or `::`: binds every interface, so it does not say where the node is.
    var bindsEveryInterface: Bool {
        host == "0.0.0.0" || host == "::"
    }

    /// The same address as Tessera compares advertised URLs, ignoring the case of the host.
    func sameEndpoint(as other: TesseraAddress) -> Bool {
        scheme == other.scheme && host.lowercased() == other.host.lowercased() && port == other.port
            && socketPath == other.socketPath
    }

    /// The address as a URL, for messages.
    var url: String {
        if scheme == .unix { return "unix:\(socketPath)" }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(scheme.rawValue)://\(hostPart):\(port)"
    }

    static func parse(_ text: String) throws(ConfigProblem) -> TesseraAddress {
        if text.hasPrefix("unix:") {
            var path = text.dropFirst("unix:".count)
            if path.hasPrefix("//") { path = path.dropFirst(2) }
            guard path.hasPrefix("/") else {
                throw ConfigProblem("a unix address needs an absolute path, as in unix:/path/tm.ipc")
            }
            return TesseraAddress(scheme: .unix, host: "", port: 0, socketPath: String(path))
        }
        let scheme: Scheme
        let rest: Substring
        if text.hasPrefix("http://") {
            (scheme, rest) = (.http, text.dropFirst("http://".count))
        } else if text.hasPrefix("https://") {
            (scheme, rest) = (.https, text.dropFirst("https://".count))
        } else {
            throw ConfigProblem("must start with http://, https:// or unix:")
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostText: Substring
        let portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw ConfigProblem("missing \"]\" after the IPv6 address")
            }
            hostText = authority[...close]
            let after = authority[authority.index(after: close)...]
            portText = after.hasPrefix(":") ? after.dropFirst() : (after.isEmpty ? nil : after)
        } else if let colon = authority.lastIndex(of: ":") {
            hostText = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            hostText = authority
            portText = nil
        }
        if hostText.isEmpty { throw ConfigProblem("has no host") }
        guard let portText else {
            throw ConfigProblem("has no port; Tessera needs one, as in \(scheme.rawValue)://\(hostText):9000")
        }
        guard case .value(let port) = DecimalInteger.parse(portText), (1...65535).contains(port) else {
            throw ConfigProblem("the port must be between 1 and 65535")
        }
        let host = try NodeSyntax.host(String(hostText))
        return TesseraAddress(scheme: scheme, host: host, port: port, socketPath: "")
    }
}
