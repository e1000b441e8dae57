internal import LBConfig

/// The checks across the nodes of an HA group: the same servers, advertising the same addresses (the
/// balancer's), on the same ports, since the balancer forwards a service to one port on every node.
enum NodeAgreement {
    /// Compares every node with the first; throws at the first difference, naming both files.
    static func check(_ nodes: [TesseraNodeConfig]) throws(ConfigError) {
        guard let reference = nodes.first else { return }
        for node in nodes.dropFirst() {
            try check(node, against: reference)
        }
    }

    private static func check(_ node: TesseraNodeConfig, against reference: TesseraNodeConfig) throws(ConfigError) {
        let theirs = Dictionary(reference.servers.map { ($0.kind, $0.server) }, uniquingKeysWith: { first, _ in first })
        let ours = Dictionary(node.servers.map { ($0.kind, $0.server) }, uniquingKeysWith: { first, _ in first })
        for (kind, server) in reference.servers where ours[kind] == nil {
            throw GivenValue(setting: "serverConfigs", text: nil, file: node.file).error(
                "no \(kind) server, but \(reference.file) has one (\(server.entry.setting)); the nodes of an HA group "
                    + "serve the same apps"
            )
        }
        for (kind, server) in node.servers where theirs[kind] == nil {
            throw server.entry.error(
                "a \(kind) server, but \(reference.file) has none; the nodes of an HA group serve the same apps"
            )
        }
        for (kind, server) in node.servers {
            guard let other = theirs[kind] else { continue }
            if !server.serverAddress.sameEndpoint(as: other.serverAddress) {
                let hint = server.bindingAddress == nil
                    ? "; without a bindingAddress, serverAddress is the node's own address: set serverAddress to "
                        + "the balancer's address and bindingAddress to the node's (Tessera's HA guide)"
                    : ""
                throw server.serverAddressField.error(
                    "differs from \(other.serverAddress.url.debugDescription) in \(reference.file); every node of an "
                        + "HA group advertises the same address, the balancer's" + hint
                )
            }
            if server.nodeAddress.port != other.nodeAddress.port {
                throw server.nodeAddressField.error(
                    "port \(server.nodeAddress.port) differs from \(other.nodeAddress.port) in \(reference.file); "
                        + "the balancer forwards a service to the same port on every node"
                )
            }
        }
    }
}
