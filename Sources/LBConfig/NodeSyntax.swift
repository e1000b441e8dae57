/// How a node is written: `--node HOST[:name]` on the command line, `host` and `name` in the config file.
package enum NodeSyntax {
    package static let flag = ListSetting.nodes.flag
    /// DNS limits (RFC 1035): a name of at most 253 characters in its dotted form, labels of at most 63.
    static let maxHostNameBytes = 253
    static let maxLabelBytes = 63

    /// Parses `--node HOST[:name]`.
    ///
    /// An IPv6 host followed by a name goes in brackets (`[::1]:n1`). Text with more than one colon and no
    /// brackets (`::1`, `fe80::1`) is taken as a bare IPv6 literal with no name.
    package static func parse(_ text: String) throws(ConfigProblem) -> BalancerConfig.Node {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw ConfigProblem("missing \"]\" after the IPv6 address") }
            let host = try host(String(text[...close]))
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return BalancerConfig.Node(host: host) }
            guard rest.hasPrefix(":") else { throw ConfigProblem("expected \":name\" after \"]\"") }
            return BalancerConfig.Node(host: host, name: try name(String(rest.dropFirst())))
        }
        let colons = text.count(where: { $0 == ":" })
        if colons > 1 {
            guard IPAddressLiteral.isIPv6(text) else {
                throw ConfigProblem(
                    "not an IPv6 address; an IPv6 address followed by a name goes in brackets, as in [fe80::1]:name"
                )
            }
            return BalancerConfig.Node(host: text)
        }
        if let colon = text.firstIndex(of: ":") {
            let host = try host(String(text[..<colon]))
            return BalancerConfig.Node(host: host, name: try name(String(text[text.index(after: colon)...])))
        }
        return BalancerConfig.Node(host: try host(text))
    }

    /// Checks a host alone: an IPv4 literal, an IPv6 literal (brackets optional) or a host name.
    /// Returns it without brackets.
    package static func host(_ text: String) throws(ConfigProblem) -> String {
        if text.isEmpty { throw ConfigProblem("the host is empty") }
        if text.hasPrefix("[") || text.hasSuffix("]") {
            let inner = String(text.dropFirst().dropLast())
            guard text.hasPrefix("["), text.hasSuffix("]"), IPAddressLiteral.isIPv6(inner) else {
                throw ConfigProblem("brackets must enclose an IPv6 address, as in [::1]")
            }
            return inner
        }
        if text.contains(":") {
            guard IPAddressLiteral.isIPv6(text) else {
                throw ConfigProblem("the host contains \":\" but is not an IPv6 address")
            }
            return text
        }
        // "10.0.0.256" would otherwise pass as a host name and fail only when it is resolved; "0x7f000001",
        // "127.1" and "2130706433" are IPv4 addresses to the resolver, in forms nobody means to write.
        if text.allSatisfy({ $0 == "." || ($0.isASCII && $0.isNumber) }) || IPAddressLiteral.isLegacyIPv4(text) {
            guard IPAddressLiteral.isIPv4(text) else {
                throw ConfigProblem("the host is not a valid IPv4 address; write four decimal numbers, as in 10.0.0.1")
            }
            return text
        }
        if text.utf8.count > maxHostNameBytes {
            throw ConfigProblem("the host name is \(text.utf8.count) characters long; at most \(maxHostNameBytes) are allowed")
        }
        if text.split(separator: ".", omittingEmptySubsequences: false).contains(where: { $0.utf8.count > maxLabelBytes }) {
            throw ConfigProblem("a part of the host name between dots is longer than \(maxLabelBytes) characters")
        }
        // A leading '-' would read as an option to anything the host is handed to.
        guard !text.hasPrefix("-"), text.allSatisfy(isHostNameCharacter) else {
            throw ConfigProblem(
                "the host must be an IPv4 address, an IPv6 address or a host name (letters, digits, '-', '.', '_')"
            )
        }
        return text
    }

    /// Checks a node name given explicitly (a node without one is named after its host).
    package static func name(_ text: String) throws(ConfigProblem) -> String {
        if text.isEmpty { throw ConfigProblem("the node name is empty") }
        // `--node 10.0.0.1:9000` is an easy slip for someone used to HOST:PORT.
        if text.allSatisfy({ $0.isASCII && $0.isNumber }) {
            throw ConfigProblem("the node name looks like a port; nodes take no port, each service has a node port")
        }
        guard text.allSatisfy(isHostNameCharacter) else {
            throw ConfigProblem("the node name may contain only letters, digits, '-', '.' and '_'")
        }
        return text
    }

    private static func isHostNameCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "-._".contains(character))
    }
}
