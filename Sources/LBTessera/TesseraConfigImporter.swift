public import LBConfig

/// Reads Tessera node config files (`--tessera-config`, one per node) into balancer settings.
///
/// From each node's `serverConfigs` (P2P, ThirdParty, Q2T): the node's address from its bindingAddress (falling
/// back to serverAddress), each service's node port likewise, and each service's listen port from the
/// serverAddress every node advertises, which in an HA group is the balancer's. The P2P server also gives the
/// health probe's port and, with TLS, its HTTPS settings (`ProbeTLS`). The nodes must agree with each other
/// (`NodeAgreement`). See docs/tessera.md.
public struct TesseraConfigImporter: ConfigImporter {
    public init() {}

    public func importSettings(
        files: [String], setting: String, environment: [String: String]
    ) throws(ConfigError) -> ImportedConfig {
        var nodes: [TesseraNodeConfig] = []
        for file in files {
            nodes.append(try TesseraNodeConfig(path: file, setting: setting, environment: environment))
        }
        try NodeAgreement.check(nodes)
        let nodeList = GivenValue(setting: setting, text: nil, file: nil)
        guard let first = nodes.first else {
            return ImportedConfig(nodes: [], nodeList: nodeList, services: nil, settings: [], healthTLS: nil)
        }
        let (tls, tlsSettings) = try ProbeTLS.derive(first.p2p, environment: environment)
        return ImportedConfig(
            nodes: nodes.map { NodeAddress.derive($0) },
            nodeList: nodeList,
            services: services(first, allowlist: Self.allowlist(nodes)),
            settings: [("health.port", .value(String(first.p2p.nodeAddress.port), first.p2p.nodeAddressField))]
                + tlsSettings,
            healthTLS: tls
        )
    }

    /// One service per balanced server, named like the default services: the listen port is the advertised
    /// port, the node port the bound one.
    /// With `useWhiteList` in any node's file, the P2P service admits only the hosts of the nodes' `peer` URLs
    /// (loopback only where a peer URL names it, as Tessera does); nil otherwise.
    static func allowlist(_ nodes: [TesseraNodeConfig]) -> [String]? {
        guard nodes.contains(where: \.useWhiteList) else { return nil }
        var hosts: [String] = []
        for host in nodes.flatMap(\.peerHosts) where !hosts.contains(host) { hosts.append(host) }
        return hosts
    }

    private func services(
        _ node: TesseraNodeConfig, allowlist: [String]?
    ) -> ImportedConfig.Derived<[ImportedConfig.ServiceEntry]> {
        if node.q2t == nil, let unix = node.unixQ2T.first {
            return .unavailable(unix.serverAddressField.error(
                "a unix socket is reachable only on the node's own host, so the balancer cannot forward Q2T to it "
                    + "over TCP; give Q2T an http address, or give the services with --service (for GoQuorum over "
                    + "IPC: --service q2t=unix:PATH:NODEPORT, see docs/tessera.md)"
            ))
        }
        let entries = [node.p2p, node.thirdParty, node.q2t].compactMap { $0 }.map { server in
            ImportedConfig.ServiceEntry(
                service: BalancerConfig.Service(
                    name: server.app.serviceName ?? server.app.rawValue,
                    listenPort: server.serverAddress.port,
                    nodePort: server.nodeAddress.port,
                    allow: server.app == .p2p ? allowlist : nil
                ),
                name: server.appField,
                listen: server.serverAddressField
            )
        }
        return .value(entries, GivenValue(setting: "serverConfigs", text: nil, file: node.file))
    }
}
