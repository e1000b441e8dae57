public import LBAdmin
import LBConfig
import LBForwarding
import LBHealth

extension Balancer {
    /// What the admin listener reads and steers: call after `start` (the listening ports are known then).
    public var adminView: BalancerView {
        let host = config.listenAddress.contains(":") ? "[\(config.listenAddress)]" : config.listenAddress
        let engine = self.engine
        let health = self.health
        return BalancerView(
            services: zip(config.services, listeningPorts).map { service, port in
                BalancerView.Service(
                    name: service.name, listen: service.listenPath.map { "unix:\($0)" } ?? "\(host):\(port)",
                    nodePort: service.nodePort
                )
            },
            nodes: zip(nodes, config.nodes).map { BalancerView.Node(state: $0, host: $1.host) },
            engine: engine.name,
            forwardingMode: engine.plan.mode,
            balance: engine.plan.balance,
            workers: engine.plan.workers,
            maxConnections: engine.plan.maxConnections,
            healthEnabled: health != nil,
            counters: { engine.counters },
            openConnections: { engine.openConnections },
            probeReport: { health?.report ?? [] },
            nodesChanged: { engine.nodesChanged() },
            isAccepting: { engine.isAccepting }
        )
    }
}
