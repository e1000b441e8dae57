#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Recognises IPv4 and IPv6 address literals exactly as the socket layer will parse them (inet_pton).
package enum IPAddressLiteral {
    package static func isIPv4(_ text: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1
    }

    package static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }

    /// Whether the resolver takes the text for an IPv4 address in one of inet_aton's older forms
    /// ("127.1", "0x7f000001", "017700000001") as well as the usual dotted quad.
    package static func isLegacyIPv4(_ text: String) -> Bool {
        var address = in_addr()
        return inet_aton(text, &address) != 0
    }

    package static func isIP(_ text: String) -> Bool {
        isIPv4(text) || isIPv6(text)
    }
}
