#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the admin listener binds, or where `tessera-lb ctl` finds it: an IP literal and a port.
public struct AdminEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// The IPv4 or IPv6 literal, without brackets.
    public let host: String
    public let port: Int

    /// The default: loopback only, so nothing is exposed unless asked.
    public static let standard = AdminEndpoint(host: "127.0.0.1", port: 9990)

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `ADDR:PORT`, `[IPV6]:PORT`, or `localhost:PORT` (taken as 127.0.0.1).
    ///
    /// - Returns: nil with `problem` set to what is wrong, phrased to follow the flag and value.
    public static func parse(_ text: String, problem: inout String) -> AdminEndpoint? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                problem = "expected [IPV6]:PORT"
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else {
                problem = "expected ADDR:PORT (IPv6 in brackets: [::1]:9990), or off"
                return nil
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            problem = "the port must be a number between 0 and 65535"
            return nil
        }
        let literal = host == "localhost" ? "127.0.0.1" : String(host)
        guard IPAddressLiteral.isIP(literal) else {
            problem = "\"\(host)\" is not an IPv4 or IPv6 address"
            return nil
        }
        return AdminEndpoint(host: literal, port: port)
    }

    /// Whether only this machine can reach the address (127.0.0.0/8 or ::1).
    public var isLoopback: Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }

    /// `HOST:PORT`, with brackets around an IPv6 literal (a URL authority).
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
