internal import LBConfig

/// Where the balancer reaches one Tessera node, from the hosts of its servers' node addresses.
enum NodeAddress {
    /// The node named by its servers' bindingAddress (or serverAddress) hosts, or why none can be named: every
    /// host binds every interface, or two servers name different hosts. Either matters only when no `--node`
    /// names the node instead.
    static func derive(_ node: TesseraNodeConfig) -> ImportedConfig.Derived<BalancerConfig.Node> {
        // Tessera binds each port on every interface and uses only the port, so any server that names a host
        // says where the whole node is.
        let named = node.servers.filter {
            $0.server.serverAddress.scheme != .unix && !$0.server.nodeAddress.bindsEveryInterface
        }
        guard let first = named.first?.server else {
            return .unavailable(node.p2p.nodeAddressField.error(
                "binds every interface, so it does not say where the node is; name the node with --node "
                    + "HOST[:name] (or TESSERA_LB_NODES), one per Tessera config file in the same order"
            ))
        }
        for (_, other) in named.dropFirst()
        where other.nodeAddress.host.lowercased() != first.nodeAddress.host.lowercased() {
            return .unavailable(other.nodeAddressField.error(
                "names host \(other.nodeAddress.host) but \(first.nodeAddressField.setting) names "
                    + "\(first.nodeAddress.host); the balancer reaches a node at one address for every service, so "
                    + "make them agree or name the node with --node HOST[:name]"
            ))
        }
        return .value(BalancerConfig.Node(host: first.nodeAddress.host), first.nodeAddressField)
    }
}
