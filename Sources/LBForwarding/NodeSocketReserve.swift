import LBSystem

/// Unconnected node sockets held in reserve, one per address family the nodes use: the node socket of a client
/// accepted when socket(2) finds no descriptor. The worker accepts a client only while the reserve is held, so
/// an accepted client always gets its node socket, and no other thread of the process can take that descriptor
/// first: the reserve is not closed and opened again, it is the node socket.
struct NodeSocketReserve: ~Copyable {
    private let needsIPv4: Bool
    private let needsIPv6: Bool
    private var ipv4: Int32 = -1
    private var ipv6: Int32 = -1

    /// A reserve for connections to `addresses` (every service's node addresses), taken at once.
    init(for addresses: some Sequence<SocketAddress>) {
        var v4 = false
        var v6 = false
        for address in addresses {
            if address.family == .ipv6 { v6 = true } else { v4 = true }
        }
        needsIPv4 = v4
        needsIPv6 = v6
        _ = hold()
    }

    deinit {
        if ipv4 >= 0 { closeDescriptor(ipv4) }
        if ipv6 >= 0 { closeDescriptor(ipv6) }
    }

    /// Whether the reserve is whole, opening what was spent if descriptors are free now.
    mutating func hold() -> Bool {
        if needsIPv4 && ipv4 < 0 { ipv4 = Socket.openStream(family: .ipv4) }
        if needsIPv6 && ipv6 < 0 { ipv6 = Socket.openStream(family: .ipv6) }
        return (!needsIPv4 || ipv4 >= 0) && (!needsIPv6 || ipv6 >= 0)
    }

    /// The reserved socket for `family`, now the caller's to connect and close; -1 when spent.
    mutating func take(for family: SocketAddress.Family) -> Int32 {
        if family == .ipv6 {
            defer { ipv6 = -1 }
            return ipv6
        }
        defer { ipv4 = -1 }
        return ipv4
    }
}
