import Glibc

/// An IPv4, IPv6 or unix-domain socket address, stored inline so that connect(2) on the data path
/// needs no allocation.
public struct SocketAddress: Sendable, CustomStringConvertible, Equatable {
    public enum Family: Sendable { case ipv4, ipv6, unix }

    private var storage: sockaddr_storage
    private var length: socklen_t

    /// The address family.
    public var family: Family {
        switch Int32(storage.ss_family) {
        case AF_INET: .ipv4
        case AF_INET6: .ipv6
        default: .unix
        }
    }

    /// An IPv4 or IPv6 literal and a port; nil when `host` is not a literal address.
    public init?(ipLiteral host: String, port: Int) {
        var storage = sockaddr_storage()
        let literal = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, literal, &v4) == 1 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = in_port_t(UInt16(port).bigEndian)
            sin.sin_addr = v4
            withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: sin) { dst.copyMemory(from: $0) } }
            self.storage = storage
            self.length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else if inet_pton(AF_INET6, literal, &v6) == 1 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = in_port_t(UInt16(port).bigEndian)
            sin6.sin6_addr = v6
            withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: sin6) { dst.copyMemory(from: $0) } }
            self.storage = storage
            self.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            return nil
        }
    }

    /// A unix-domain socket path (at most 107 bytes).
    public init?(unixPath path: String) {
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: sun.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &sun.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: sun) { dst.copyMemory(from: $0) } }
        self.storage = storage
        self.length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
    }

    /// Resolves a host name or literal to its addresses (IPv4 and IPv6), in the resolver's order.
    ///
    /// - Throws: `SystemError` with call `getaddrinfo` when the name does not resolve.
    public static func resolve(host: String, port: Int) throws(SystemError) -> [SocketAddress] {
        if let literal = SocketAddress(ipLiteral: host, port: port) { return [literal] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else { throw SystemError("getaddrinfo(\(host))", errno: rc == EAI_SYSTEM ? errno : ENOENT) }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let sa = entry.pointee.ai_addr {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: Int(entry.pointee.ai_addrlen)))
                }
                let address = SocketAddress(storage: storage, length: entry.pointee.ai_addrlen)
                if !addresses.contains(address) { addresses.append(address) }
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }

    init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// Lends the raw sockaddr to `body` (for bind and connect).
    @inline(__always)
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// The port (0 for unix addresses).
    public var port: Int {
        withUnsafeBytes(of: storage) { raw in
            switch family {
            case .ipv4: Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
            case .ipv6: Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
            case .unix: 0
            }
        }
    }

    /// The same address with another port.
    public func withPort(_ port: Int) -> SocketAddress {
        var copy = self
        withUnsafeMutableBytes(of: &copy.storage) { raw in
            switch family {
            case .ipv4: raw.storeBytes(of: in_port_t(UInt16(port).bigEndian), toByteOffset: 2, as: in_port_t.self)
            case .ipv6: raw.storeBytes(of: in_port_t(UInt16(port).bigEndian), toByteOffset: 2, as: in_port_t.self)
            case .unix: break
            }
        }
        return copy
    }

    /// `127.0.0.1:9000`, `[::1]:9000` or `unix:/path`.
    public var description: String {
        withUnsafeBytes(of: storage) { raw in
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            switch family {
            case .ipv4:
                var addr = raw.load(as: sockaddr_in.self).sin_addr
                inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
                return "\(cText(text)):\(port)"
            case .ipv6:
                var addr = raw.load(as: sockaddr_in6.self).sin6_addr
                inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
                return "[\(cText(text))]:\(port)"
            case .unix:
                let path = raw.withMemoryRebound(to: sockaddr_un.self) { sun in
                    withUnsafeBytes(of: sun[0].sun_path) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                }
                return "unix:\(path)"
            }
        }
    }

    private func cText(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        guard lhs.length == rhs.length else { return false }
        return withUnsafeBytes(of: lhs.storage) { l in
            withUnsafeBytes(of: rhs.storage) { r in
                memcmp(l.baseAddress!, r.baseAddress!, Int(lhs.length)) == 0
            }
        }
    }
}
