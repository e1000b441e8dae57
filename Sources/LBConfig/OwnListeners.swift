#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A node that is the balancer itself: a node address and port that one of the balancer's own TCP listeners
/// accepts. Every client connection would come back in as a new client, and again, until `maxConns` is spent.
///
/// Only IP literals (and `localhost`) are judged: a host name is resolved at start, not while checking.
enum OwnListeners {
    /// Throws, naming the node, when a node's host at a service's node port reaches one of the listeners.
    static func check(_ config: BalancerConfig, nodes: [GivenValue]) throws(ConfigError) {
        var listeners: [Int: String] = [:]
        for service in config.services where service.listenPath == nil && listeners[service.listenPort] == nil {
            listeners[service.listenPort] = service.name
        }
        let loops = config.services.filter { listeners[$0.nodePort] != nil }
        guard let port = loops.first?.nodePort, let listen = Address(config.listenAddress) else { return }
        let local = localAddresses()
        for (n, node) in config.nodes.enumerated() {
            let addresses = node.host.lowercased().trimmingSuffix(".") == "localhost"
                ? [Address.loopbackV4, Address.loopbackV6] : Address(node.host).map { [$0] } ?? []
            guard addresses.contains(where: { listen.accepts($0, local: local) }) else { continue }
            let given = n < nodes.count ? nodes[n] : GivenValue(setting: NodeSyntax.flag, text: node.host, file: nil)
            throw given.error(
                "\(node.host) port \(port) is this balancer's own listener for service \(listeners[port] ?? "?") "
                    + "(listen \(config.listenAddress)); the node would be the balancer itself"
            )
        }
    }

    /// An IP address as 16 bytes; an IPv4 address in its IPv4-mapped IPv6 form, so both families compare.
    struct Address: Equatable {
        let bytes: [UInt8]

        static let loopbackV4 = Address("127.0.0.1")!
        static let loopbackV6 = Address("::1")!

        init(bytes: [UInt8]) { self.bytes = bytes }

        init?(_ text: String) {
            var v4 = in_addr()
            var v6 = in6_addr()
            if inet_pton(AF_INET, text, &v4) == 1 {
                self.init(v4: v4)
            } else if inet_pton(AF_INET6, text, &v6) == 1 {
                self.init(bytes: withUnsafeBytes(of: &v6) { Array($0) })
            } else {
                return nil
            }
        }

        init(v4: in_addr) {
            var v4 = v4
            bytes = Array(repeating: 0, count: 10) + [0xFF, 0xFF] + withUnsafeBytes(of: &v4) { Array($0) }
        }

        var isIPv4: Bool { bytes.prefix(12) == Address.loopbackV4.bytes.prefix(12) }
        var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } || (isIPv4 && bytes.suffix(4).allSatisfy { $0 == 0 }) }
        var isLoopback: Bool { self == Address.loopbackV6 || (isIPv4 && bytes[12] == 127) }

        /// Whether a listener bound to this address accepts a connection to `address`. An unspecified address
        /// (`0.0.0.0`, `::`, which takes IPv4 too) accepts any address of this host; a connection to an
        /// unspecified address goes to this host.
        func accepts(_ address: Address, local: [Address]) -> Bool {
            if address.isUnspecified { return true }
            guard isUnspecified else { return address == self }
            // 0.0.0.0 takes IPv4 only; :: takes both, as the listeners leave IPV6_V6ONLY off.
            if isIPv4 && !address.isIPv4 { return false }
            return address.isLoopback || local.contains(address)
        }
    }

    /// The addresses of this host's interfaces.
    private static func localAddresses() -> [Address] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var addresses: [Address] = []
        var entry = list
        while let current = entry {
            if let address = current.pointee.ifa_addr {
                switch Int32(address.pointee.sa_family) {
                case AF_INET:
                    let v4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    addresses.append(Address(v4: v4))
                case AF_INET6:
                    var v6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    addresses.append(Address(bytes: withUnsafeBytes(of: &v6) { Array($0) }))
                default:
                    break
                }
            }
            entry = current.pointee.ifa_next
        }
        return addresses
    }
}

private extension String {
    func trimmingSuffix(_ suffix: String) -> Substring {
        hasSuffix(suffix) ? dropLast(suffix.count) : self[...]
    }
}
