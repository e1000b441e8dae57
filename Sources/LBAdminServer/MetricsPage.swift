import LBGroup
import Foundation
import LBBalancing
import LBForwarding
import LBHealth
import Synchronization

/// `GET /metrics`: every counter and gauge the balancer has, read from the atomics at scrape time.
/// docs/operations.md lists them.
enum MetricsPage {
    static func render(_ view: BalancerView, history: StateHistory) -> String {
        let seen = history.observe(view: view)
        var out = PrometheusText()

        // MARK: - The process
        out.family("tessera_lb_build_info", .gauge, "The running build: always 1; the labels carry the facts.")
        out.sample("tessera_lb_build_info", [("version", BuildInfo.version)], 1)
        out.family("tessera_lb_engine_info", .gauge, "The forwarding engine in use: always 1; the labels carry the facts.")
        out.sample(
            "tessera_lb_engine_info",
            [("engine", view.engine), ("forward", view.forwardingMode.rawValue), ("balance", view.balance.rawValue)], 1
        )
        out.family("tessera_lb_workers", .gauge, "Forwarding worker threads.")
        out.sample("tessera_lb_workers", view.workers)
        out.family("tessera_lb_max_connections", .gauge, "The limit of open client connections across all workers.")
        out.sample("tessera_lb_max_connections", view.maxConnections)
        out.family("tessera_lb_open_connections", .gauge, "Open client connections across all workers.")
        out.sample("tessera_lb_open_connections", view.openConnections())

        let process = ProcessStats.read()
        out.family("process_open_fds", .gauge, "Open file descriptors.")
        out.sample("process_open_fds", process.openDescriptors)
        out.family("process_max_fds", .gauge, "The open file descriptor limit (RLIMIT_NOFILE).")
        out.sample("process_max_fds", process.maxDescriptors)
        out.family("process_cpu_seconds_total", .counter, "User and system CPU time spent, seconds.")
        out.sample("process_cpu_seconds_total", process.cpuSeconds)
        out.family("process_resident_memory_bytes", .gauge, "Resident memory size, bytes.")
        out.sample("process_resident_memory_bytes", process.residentBytes)
        out.family("process_virtual_memory_bytes", .gauge, "Virtual memory size, bytes.")
        out.sample("process_virtual_memory_bytes", process.virtualBytes)
        out.family("process_start_time_seconds", .gauge, "When the process started, seconds since the epoch.")
        out.sample("process_start_time_seconds", process.startTime)

        // MARK: - Nodes
        let nodes = view.nodes.map(\.state)
        out.family(
            "tessera_lb_node_state", .gauge,
            "1 for the node's current state (up, down, failed-out, draining, disabled, held-out), 0 for the others."
        )
        for (n, node) in nodes.enumerated() {
            for state in NodeStateName.allCases {
                out.sample("tessera_lb_node_state", [("node", node.name), ("state", state.rawValue)], seen.nodes[n].condition.state == state)
            }
        }
        if let group = view.groupReport(), group.checkedAt != nil {
            out.family(
                "tessera_lb_group_consistent", .gauge,
                "1 while the group check finds the nodes agreeing on their own keys, version and partyinfo, else 0."
            )
            out.sample("tessera_lb_group_consistent", [], group.consistent)
            out.family(
                "tessera_lb_group_problem", .gauge,
                "1 for each problem the group check found: a node whose keys, version or partyinfo differ."
            )
            for problem in group.problems {
                out.sample("tessera_lb_group_problem", [("node", problem.node), ("problem", problem.problem.rawValue)], 1)
            }
        }
        out.family("tessera_lb_node_marked_up", .gauge, "1 while the probe's verdict has the node in the pools.")
        for node in nodes { out.sample("tessera_lb_node_marked_up", [("node", node.name)], node.isMarkedUp) }
        out.family(
            "tessera_lb_node_admin_state", .gauge,
            "1 for the state an operator set (enabled, draining, disabled), 0 for the others."
        )
        for node in nodes {
            for state in AdminState.allCases {
                out.sample("tessera_lb_node_admin_state", [("node", node.name), ("state", state.name)], node.adminState == state)
            }
        }
        out.family(
            "tessera_lb_node_state_changes_total", .counter,
            "Changes of the node's state seen since the admin listener started (looked at every 250 ms)."
        )
        for (n, node) in nodes.enumerated() { out.sample("tessera_lb_node_state_changes_total", [("node", node.name)], seen.changes[n]) }
        out.family("tessera_lb_node_active_connections", .gauge, "Open connections to the node, all services together.")
        for node in nodes {
            out.sample("tessera_lb_node_active_connections", [("node", node.name)], node.activeConnections.load(ordering: .relaxed))
        }
        out.family("tessera_lb_node_connect_failures_total", .counter, "Failed connects to the node.")
        for node in nodes {
            out.sample("tessera_lb_node_connect_failures_total", [("node", node.name)], node.connectFailures.load(ordering: .relaxed))
        }
        let totals = WorkerTotals(view.counters())
        let keys = totals.serviceNodeKeys(services: view.services.map(\.name), nodes: nodes.map(\.name))
        func perServiceNode(_ name: String, _ help: String, _ counter: ServiceNodeCounters.Counter) {
            out.family(name, .counter, help)
            for key in keys {
                out.sample(name, [("service", key.service), ("node", key.node)], totals.serviceNodes[key]?[counter] ?? 0)
            }
        }
        perServiceNode(
            "tessera_lb_service_node_connections_total", "Connections established to the node for the service.", .connections
        )
        out.family(
            "tessera_lb_service_node_bytes_total", .counter,
            "Bytes forwarded between the service's clients and the node: direction up is client to node, down is node to client."
        )
        for key in keys {
            let counts = totals.serviceNodes[key] ?? .init()
            let labels = [("service", key.service), ("node", key.node)]
            out.sample("tessera_lb_service_node_bytes_total", labels + [("direction", "up")], counts[.bytesUp])
            out.sample("tessera_lb_service_node_bytes_total", labels + [("direction", "down")], counts[.bytesDown])
        }
        perServiceNode(
            "tessera_lb_service_node_connect_failures_total", "Failed connects to the node for the service.", .connectFailures
        )
        perServiceNode(
            "tessera_lb_service_node_retries_total",
            "Connects to the node for the service made after another node failed for the same client.", .retries
        )
        out.family(
            "tessera_lb_service_node_available", .gauge,
            "1 while the node takes new connections of the service (its state for that service is up)."
        )
        for (s, service) in view.services.enumerated() {
            for (n, node) in nodes.enumerated() {
                out.sample(
                    "tessera_lb_service_node_available", [("service", service.name), ("node", node.name)],
                    seen.services[s][n].condition.state == .up
                )
            }
        }

        // MARK: - Probes
        if view.healthEnabled {
            let reports = view.probeReport()
            func labels(_ r: HealthChecker.Report) -> [(String, String)] {
                [("node", nodes[r.target.node].name), ("port", String(r.target.port)), ("service", r.target.serviceName ?? "")]
            }
            out.family("tessera_lb_probe_up", .gauge, "1 while the probe target's rise/fall verdict is up.")
            for r in reports { out.sample("tessera_lb_probe_up", labels(r), r.isUp) }
            out.family(
                "tessera_lb_probe_last_result", .gauge,
                "1 for the kind of the last probe result (healthy, status, body_mismatch, timeout, refused, reset, tls_error, not_http, closed_before_request, other, none)."
            )
            for r in reports {
                out.sample("tessera_lb_probe_last_result", labels(r) + [("result", Self.kind(of: r.lastResult))], 1)
            }
            out.family(
                "tessera_lb_probe_last_success_timestamp_seconds", .gauge,
                "When the target last answered healthy, seconds since the epoch (0: never)."
            )
            for r in reports {
                out.sample("tessera_lb_probe_last_success_timestamp_seconds", labels(r), r.lastGood?.timeIntervalSince1970 ?? 0)
            }
            out.family(
                "tessera_lb_probe_last_change_timestamp_seconds", .gauge,
                "When the target's verdict last changed (or probing began), seconds since the epoch."
            )
            for r in reports { out.sample("tessera_lb_probe_last_change_timestamp_seconds", labels(r), r.since.timeIntervalSince1970) }
            out.family("tessera_lb_probe_duration_seconds", .histogram, "How long the target's probes took, seconds.")
            for r in reports {
                for (i, bound) in ProbeLatency.bounds.enumerated() {
                    out.sample("tessera_lb_probe_duration_seconds_bucket", labels(r) + [("le", "\(bound)")], r.latency.cumulative(upTo: i))
                }
                out.sample("tessera_lb_probe_duration_seconds_bucket", labels(r) + [("le", "+Inf")], r.latency.count)
                out.sample("tessera_lb_probe_duration_seconds_sum", labels(r), r.latency.sum)
                out.sample("tessera_lb_probe_duration_seconds_count", labels(r), r.latency.count)
            }
            out.family(
                "tessera_lb_probe_last_duration_seconds", .gauge, "How long the target's last probe took, seconds (0: not probed yet)."
            )
            for r in reports { out.sample("tessera_lb_probe_last_duration_seconds", labels(r), r.latency.last ?? 0) }
        }

        // MARK: - Workers
        let counters = view.counters()
        func perWorker(_ name: String, _ kind: PrometheusText.Kind, _ help: String, _ read: (WorkerCounters) -> Int) {
            out.family(name, kind, help)
            for (w, c) in counters.enumerated() { out.sample(name, [("worker", String(w))], read(c)) }
        }
        perWorker("tessera_lb_worker_events_total", .counter, "Readiness events the worker handled.") {
            $0.events.load(ordering: .relaxed)
        }
        perWorker("tessera_lb_worker_stale_events_total", .counter, "Events for a connection already closed (skipped).") {
            $0.staleEvents.load(ordering: .relaxed)
        }
        perWorker("tessera_lb_worker_accepted_connections_total", .counter, "Client connections accepted.") {
            $0.accepted.load(ordering: .relaxed)
        }
        perWorker("tessera_lb_worker_open_connections", .gauge, "Client connections open.") {
            $0.open.load(ordering: .relaxed)
        }
        out.family(
            "tessera_lb_worker_bytes_total", .counter,
            "Bytes forwarded: direction up is client to node, down is node to client."
        )
        for (w, c) in counters.enumerated() {
            out.sample("tessera_lb_worker_bytes_total", [("worker", String(w)), ("direction", "up")], c.bytesUp.load(ordering: .relaxed))
            out.sample("tessera_lb_worker_bytes_total", [("worker", String(w)), ("direction", "down")], c.bytesDown.load(ordering: .relaxed))
        }
        perWorker("tessera_lb_worker_connect_failures_total", .counter, "Failed connects to nodes.") {
            $0.connectFailures.load(ordering: .relaxed)
        }
        perWorker("tessera_lb_worker_retries_total", .counter, "Connects retried on the next node after a failure.") {
            $0.retries.load(ordering: .relaxed)
        }
        perWorker("tessera_lb_worker_no_node_total", .counter, "Clients closed because no node could take them.") {
            $0.noNode.load(ordering: .relaxed)
        }
        perWorker("tessera_lb_worker_pipes_in_use", .gauge, "Splice pipes held by connections.") {
            $0.pipesInUse.load(ordering: .relaxed)
        }
        perWorker("tessera_lb_worker_pipes_pooled", .gauge, "Splice pipes kept for reuse.") {
            $0.pipesPooled.load(ordering: .relaxed)
        }
        perWorker("tessera_lb_worker_copy_fallbacks_total", .counter, "Connections that copied because no pipe could be had.") {
            $0.copyFallbacks.load(ordering: .relaxed)
        }
        perWorker(
            "tessera_lb_worker_closed_on_mark_down_total", .counter,
            "Connections closed because their node was marked down or disabled."
        ) {
            $0.closedOnMarkDown.load(ordering: .relaxed)
        }
        perWorker(
            "tessera_lb_worker_refused_by_allowlist_total", .counter,
            "Clients closed at accept because their service's allowlist does not admit them."
        ) {
            $0.refusedByAllowlist.load(ordering: .relaxed)
        }
        perWorker(
            "tessera_lb_worker_partyinfo_requests_total", .counter,
            "POST /partyinfo requests seen on the p2p service (partyinfo mirroring)."
        ) {
            $0.partyinfoRequests.load(ordering: .relaxed)
        }
        out.family(
            "tessera_lb_worker_partyinfo_copies_total", .counter,
            "Copies of POST /partyinfo sent to the other nodes: result ok (answered 2xx), failed, or dropped (a bound was reached; one per request)."
        )
        for (w, c) in counters.enumerated() {
            let results = [
                ("ok", c.partyinfoCopies.load(ordering: .relaxed)), ("failed", c.partyinfoCopyFailures.load(ordering: .relaxed)),
                ("dropped", c.partyinfoDropped.load(ordering: .relaxed)),
            ]
            for (result, value) in results {
                out.sample("tessera_lb_worker_partyinfo_copies_total", [("worker", String(w)), ("result", result)], value)
            }
        }
        perWorker(
            "tessera_lb_worker_p2p_unframed_total", .counter,
            "P2P connections that are not plain HTTP/1.x (TLS...): forwarded untouched, never mirrored."
        ) {
            $0.unframedConnections.load(ordering: .relaxed)
        }
        return out.text
    }

    /// A bounded label value for a probe result (the description may carry a node's text).
    static func kind(of result: ProbeResult?) -> String {
        switch result {
        case nil: "none"
        case .healthy: "healthy"
        case .status: "status"
        case .bodyMismatch: "body_mismatch"
        case .timeout: "timeout"
        case .refused: "refused"
        case .reset: "reset"
        case .tlsError: "tls_error"
        case .notHTTP: "not_http"
        case .closedBeforeRequest: "closed_before_request"
        case .other: "other"
        }
    }
}
