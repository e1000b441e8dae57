import Glibc

/// An IPv4 or IPv6 network, an address and a prefix length (`10.0.0.0/8`, `2001:db8::/32`, `10.0.0.5` for one
/// host), for the listeners' allowlists. 128 bits in two words, so checking a peer costs no allocation.
public struct AddressRange: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let isIPv6: Bool
    public let prefix: Int
    /// The network's bits, masked to the prefix; IPv4 in the low 32 bits of `low`.
    private let high: UInt64
    private let low: UInt64
    /// The prefix as masks, made once: `contains` runs at every accept on an allowlisted service.
    private let maskHigh: UInt64
    private let maskLow: UInt64

    /// `ADDRESS` or `ADDRESS/PREFIX` (IPv6 with or without brackets); nil for anything else, host names included.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = SocketAddress(ipLiteral: String(parts[0]), port: 0), address.family != .unix else { return nil }
        let full = address.family == .ipv6 ? 128 : 32
        var prefix = full
        if parts.count == 2 {
            guard let given = Int(parts[1]), parts[1].allSatisfy(\.isASCII), parts[1].allSatisfy(\.isNumber),
                (0...full).contains(given)
            else { return nil }
            prefix = given
        }
        self.init(address: address, prefix: prefix)
    }

    /// The network of `address` with `prefix` bits (32 or 128 for the one host).
    public init(address: SocketAddress, prefix: Int) {
        let bits = address.addressBits
        isIPv6 = bits.isIPv6
        self.prefix = prefix
        (maskHigh, maskLow) = Self.mask(prefix, isIPv6: bits.isIPv6)
        high = bits.high & maskHigh
        low = bits.low & maskLow
    }

    /// Whether `address` is in the range. An IPv4 client on an IPv6 listener (`::ffff:a.b.c.d`) is matched as
    /// the IPv4 address it is.
    @inline(__always)
    public func contains(_ address: SocketAddress) -> Bool {
        var bits = address.addressBits
        if bits.isIPv6 && !isIPv6 && bits.high == 0 && bits.low >> 32 == 0xFFFF {
            bits = (false, 0, bits.low & 0xFFFF_FFFF)
        }
        guard bits.isIPv6 == isIPv6 else { return false }
        return bits.high & maskHigh == high && bits.low & maskLow == low
    }

    private static func mask(_ prefix: Int, isIPv6: Bool) -> (UInt64, UInt64) {
        if !isIPv6 {
            return (0, prefix == 0 ? 0 : UInt64(UInt32.max << UInt32(32 - prefix)))
        }
        let high: UInt64 = prefix >= 64 ? .max : (prefix == 0 ? 0 : .max << UInt64(64 - prefix))
        let low: UInt64 = prefix <= 64 ? 0 : (prefix == 128 ? .max : .max << UInt64(128 - prefix))
        return (high, low)
    }

    /// `10.0.0.0/8`, `2001:db8::/32`.
    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if isIPv6 {
            var addr = in6_addr()
            withUnsafeMutableBytes(of: &addr) { raw in
                raw.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
        } else {
            var addr = in_addr(s_addr: UInt32(truncatingIfNeeded: low).bigEndian)
            inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
        }
        let address = String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(address)/\(prefix)"
    }
}

extension SocketAddress {
    /// The address's bits: IPv4 in the low 32 bits of `low`; unix addresses are all zero.
    var addressBits: (isIPv6: Bool, high: UInt64, low: UInt64) {
        withSockAddr { pointer, _ in
            let raw = UnsafeRawPointer(pointer)
            switch family {
            case .ipv4:
                let v4 = raw.load(fromByteOffset: 4, as: UInt32.self)
                return (false, 0, UInt64(UInt32(bigEndian: v4)))
            case .ipv6:
                let high = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                let low = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
                return (true, UInt64(bigEndian: high), UInt64(bigEndian: low))
            case .unix:
                return (false, 0, 0)
            }
        }
    }

    /// The address at the other end of a connected socket (getpeername(2)); nil when it has none.
    public static func peer(of fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        return SocketAddress(storage: storage, length: length)
    }
}
