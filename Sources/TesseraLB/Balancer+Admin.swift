public import LBAdminServer
import LBConfig
import LBEngine
import LBForwarding
import LBHealth
import Synchronization

extension Balancer {
    /// What the admin listener reads and steers, for the configuration running now: call after `start`, and
    /// again after each reload (`AdminServer.update(view:)`).
    ///
    /// Nodes, services and probes are those of the current configuration. Counters and open connections are
    /// the balancer's, over every engine (a reload's previous engine while it drains too), so totals never go back.
    public var adminView: BalancerView {
        let (config, nodes, health) = running.withLock { ($0.config, $0.nodes, $0.health?.checker) }
        let generations = self.generations
        let generation = generations.current
        let plan = generation?.plan
        let ports = generation?.engine.listeningPorts ?? []
        let host = Self.host(config.listenAddress)
        return BalancerView(
            services: zip(config.services, ports).map { service, port in
                BalancerView.Service(
                    name: service.name, listen: service.listenPath.map { "unix:\($0)" } ?? "\(host):\(port)",
                    nodePort: service.nodePort
                )
            },
            nodes: zip(nodes, config.nodes).map { BalancerView.Node(state: $0, host: $1.host) },
            engine: generation?.engine.name ?? engine.name,
            forwardingMode: plan?.mode ?? .auto,
            balance: plan?.balance ?? config.balance,
            workers: plan?.workers ?? 0,
            maxConnections: plan?.maxConnections ?? config.maxConnections,
            healthEnabled: health != nil,
            counters: { generations.counters() },
            openConnections: { generations.openConnections },
            // The probes of this configuration: their node indices are this view's.
            probeReport: { health?.report ?? [] },
            nodesChanged: { generations.nodesChanged() },
            isAccepting: { generations.current?.engine.isAccepting ?? false },
            isStopping: { [self] in isShuttingDown },
            groupReport: { [self] in groupReport },
            mirrorPartyinfo: plan?.mirrorService != nil
        )
    }
}
