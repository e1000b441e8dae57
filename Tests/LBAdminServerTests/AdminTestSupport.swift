import Foundation
import LBBalancing
import Logging
import Synchronization

@testable import LBAdminServer
@testable import LBForwarding
@testable import LBHealth

/// A balancer's view without a balancer: bare node states and worker counters the test sets by hand.
final class ViewFixture: Sendable {
    let nodes: [NodeState]
    let counters: [WorkerCounters]
    /// How often the routes told the workers that nodes changed.
    let changes: Counter
    let view: BalancerView

    init(nodes names: [String] = ["n1", "n2"], workers: Int = 2, health: Bool = false, reports: [HealthChecker.Report] = []) {
        let nodes = names.map { NodeState(name: $0) }
        let counters = (0..<workers).map { _ in WorkerCounters(services: ["p2p", "q2t"], nodes: names) }
        self.nodes = nodes
        self.counters = counters
        let changes = Counter()
        self.changes = changes
        view = BalancerView(
            services: [
                .init(name: "p2p", listen: "127.0.0.1:9000", nodePort: 9000),
                .init(name: "q2t", listen: "127.0.0.1:9101", nodePort: 9101),
            ],
            nodes: nodes.enumerated().map { .init(state: $1, host: "127.0.0.\($0 + 2)") },
            engine: "epoll",
            forwardingMode: .auto,
            balance: .roundrobin,
            workers: workers,
            maxConnections: 16_384,
            healthEnabled: health,
            counters: { counters },
            openConnections: { counters.reduce(0) { $0 + $1.open.load(ordering: .relaxed) } },
            probeReport: { reports },
            nodesChanged: { changes.value.add(1, ordering: .relaxed) }
        )
    }

    func routes(token: String? = nil) -> AdminRoutes {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return AdminRoutes(view: view, history: StateHistory(view: view), token: token, logger: logger)
    }
}

final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

/// A request as a local `ctl` or curl sends it.
func request(_ method: String, _ uri: String, headers: [(String, String)] = []) -> AdminRequest {
    AdminRequest(method: method, uri: uri, headers: [("Host", "127.0.0.1:9990")] + headers)
}

extension AdminResponse {
    var text: String { String(decoding: body, as: UTF8.self) }
}
