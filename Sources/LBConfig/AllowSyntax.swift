/// `--allow SERVICE=ENTRY[,ENTRY...]` (repeatable; `TESSERA_LB_ALLOW` takes the same items separated by `;`):
/// which clients a service admits. An entry is an IPv4 or IPv6 address, a network `ADDRESS/PREFIX`, or a host
/// name, resolved at start and on each reload to all its addresses. A service without a list admits everyone.
package enum AllowSyntax {
    package static let flag = ListSetting.allow.flag
    package static let variable = ListSetting.allow.variable

    /// `SERVICE=ENTRY[,ENTRY...]` into the service's name and its entries, each checked.
    static func parse(_ text: String) throws(ConfigProblem) -> (service: String, entries: [String]) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else {
            throw ConfigProblem("expected SERVICE=ADDRESS[/PREFIX][,...], such as p2p=10.0.0.0/24,peer.example.com")
        }
        var entries: [String] = []
        for entry in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
            entries.append(try self.entry(String(entry)))
        }
        return (String(parts[0]), entries)
    }

    /// One entry: an address, a network or a host name; returned as written (IPv6 without brackets).
    package static func entry(_ text: String) throws(ConfigProblem) -> String {
        if text.isEmpty { throw ConfigProblem("an entry is empty") }
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            let address = parts[0].hasPrefix("[") && parts[0].hasSuffix("]") ? String(parts[0].dropFirst().dropLast()) : String(parts[0])
            let bits = IPAddressLiteral.isIPv6(address) ? 128 : IPAddressLiteral.isIPv4(address) ? 32 : 0
            guard bits > 0 else { throw ConfigProblem("\"\(parts[0])\" before the / is not an IPv4 or IPv6 address") }
            guard case .value(let prefix) = DecimalInteger.parse(parts[1]), (0...bits).contains(prefix) else {
                throw ConfigProblem("the prefix length after the / must be between 0 and \(bits)")
            }
            return "\(address)/\(prefix)"
        }
        return try NodeSyntax.host(text)
    }
}
