import Foundation
import LBBalancing
import Synchronization
import Testing

@testable import LBAdminServer
@testable import LBForwarding
@testable import LBHealth

@Suite("Prometheus exposition")
struct MetricsTests {
    /// Parses the text format the way a scraper would insist on it: each family's HELP and TYPE before its
    /// samples, no family twice, every sample `name{labels} value` with a number; a histogram's samples are its
    /// `_bucket`s, ascending by `le` up to `+Inf`, cumulative, then `_sum` and `_count`, which equals `+Inf`.
    static func parse(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        var families: [String] = []
        var current = ""
        var histogram = false
        /// The current histogram series' last `le` and count.
        var lastBucket: (le: Double, count: Double)? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") {
                current = String(line.dropFirst(7).prefix { $0 != " " })
                try #require(!families.contains(current), "family \(current) twice")
                families.append(current)
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                try #require(parts.count == 4 && parts[2] == current && ["counter", "gauge", "histogram"].contains(parts[3]), "\(line)")
                if parts[3] == "counter" { try #require(current.hasSuffix("_total"), "counter \(current) ends in _total") }
                histogram = parts[3] == "histogram"
                lastBucket = nil
            } else {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                let valueText = line.split(separator: " ").last.map(String.init) ?? ""
                let value = try #require(Double(valueText), "value of \(line)")
                if histogram {
                    let labels = String(line.drop { $0 != "{" }.prefix { $0 != "}" })
                    if name == current + "_bucket" {
                        let le = try #require(labels.range(of: "le=\"").map { labels[$0.upperBound...].prefix { $0 != "\"" } })
                        let bound = try #require(le == "+Inf" ? Double.infinity : Double(le), "le of \(line)")
                        if let previous = lastBucket {
                            try #require(bound > previous.le && value >= previous.count, "buckets ascend and accumulate: \(line)")
                        }
                        lastBucket = bound == .infinity ? nil : (bound, value)
                    } else if name == current + "_count" {
                        let inf = samples[current + "_bucket" + (labels.isEmpty ? "{" : labels + ",") + "le=\"+Inf\"}"]
                        try #require(inf == value, "\(current)_count equals its +Inf bucket: \(line)")
                    } else {
                        try #require(name == current + "_sum", "sample \(name) outside its histogram \(current)")
                    }
                } else {
                    try #require(name == current, "sample \(name) outside its family \(current)")
                }
                let series = String(line.dropLast(valueText.count + 1))
                try #require(samples[series] == nil, "series \(series) twice")
                samples[series] = value
            }
        }
        return samples
    }

    @Test("every sample is well formed and the counters are the workers' sums, per worker")
    func wellFormed() throws {
        let fixture = ViewFixture()
        fixture.counters[0].accepted.store(5, ordering: .relaxed)
        fixture.counters[1].accepted.store(7, ordering: .relaxed)
        fixture.counters[1].bytesUp.store(1234, ordering: .relaxed)
        fixture.counters[0].bytesDown.store(99, ordering: .relaxed)
        fixture.nodes[0].connectFailures.store(3, ordering: .relaxed)
        fixture.nodes[1].setAdminState(.draining)
        let response = fixture.routes().respond(to: request("GET", "/metrics"))
        #expect(response.status == 200)
        #expect(response.headers.contains { $0 == ("Content-Type", "text/plain; version=0.0.4; charset=utf-8") })
        let samples = try Self.parse(response.text)
        #expect(samples["tessera_lb_worker_accepted_connections_total{worker=\"0\"}"] == 5)
        #expect(samples["tessera_lb_worker_accepted_connections_total{worker=\"1\"}"] == 7)
        #expect(samples["tessera_lb_worker_bytes_total{worker=\"1\",direction=\"up\"}"] == 1234)
        #expect(samples["tessera_lb_worker_bytes_total{worker=\"0\",direction=\"down\"}"] == 99)
        #expect(samples["tessera_lb_node_connect_failures_total{node=\"n1\"}"] == 3)
        #expect(samples["tessera_lb_node_state{node=\"n1\",state=\"up\"}"] == 1)
        #expect(samples["tessera_lb_node_state{node=\"n2\",state=\"draining\"}"] == 1)
        #expect(samples["tessera_lb_node_state{node=\"n2\",state=\"up\"}"] == 0)
        #expect(samples["tessera_lb_node_admin_state{node=\"n2\",state=\"draining\"}"] == 1)
        #expect(samples["tessera_lb_service_node_available{service=\"q2t\",node=\"n2\"}"] == 0)
        #expect(samples["tessera_lb_engine_info{engine=\"epoll\",forward=\"auto\",balance=\"roundrobin\"}"] == 1)
        #expect((samples["process_open_fds"] ?? 0) > 2)
        #expect((samples["process_resident_memory_bytes"] ?? 0) > 1_048_576.0)
        #expect((samples["process_start_time_seconds"] ?? 0) > Date().timeIntervalSince1970 - 86_400 * 365)
    }

    @Test("label values are escaped: backslash, quote, newline")
    func escaping() throws {
        var text = PrometheusText()
        text.family("x_total", .counter, "help with \\ and\nnewline")
        text.sample("x_total", [("node", "a\"b\\c\nd")], 1)
        #expect(text.text == "# HELP x_total help with \\\\ and\\nnewline\n# TYPE x_total counter\nx_total{node=\"a\\\"b\\\\c\\nd\"} 1\n")
    }

    @Test("a node's name with odd characters cannot break the exposition")
    func oddNodeName() throws {
        let fixture = ViewFixture(nodes: ["we\"ird\nnode", "n2"])
        let samples = try Self.parse(fixture.routes().respond(to: request("GET", "/metrics")).text)
        #expect(samples["tessera_lb_node_active_connections{node=\"we\\\"ird\\nnode\"}"] == 0)
    }

    @Test("per service and node counts are summed over workers and over engines, by name")
    func perServiceNode() throws {
        let fixture = ViewFixture()
        fixture.counters[0].serviceNodes.bump(1, 0, .connections, 2)
        fixture.counters[1].serviceNodes.bump(1, 0, .connections, 3)
        fixture.counters[0].serviceNodes.bump(1, 0, .bytesUp, 100)
        fixture.counters[1].serviceNodes.bump(1, 0, .bytesDown, 7_000)
        fixture.counters[1].serviceNodes.bump(0, 1, .connectFailures)
        fixture.counters[0].serviceNodes.bump(0, 0, .retries)
        let samples = try Self.parse(fixture.routes().respond(to: request("GET", "/metrics")).text)
        #expect(samples["tessera_lb_service_node_connections_total{service=\"q2t\",node=\"n1\"}"] == 5)
        #expect(samples["tessera_lb_service_node_connections_total{service=\"p2p\",node=\"n1\"}"] == 0)
        #expect(samples["tessera_lb_service_node_bytes_total{service=\"q2t\",node=\"n1\",direction=\"up\"}"] == 100)
        #expect(samples["tessera_lb_service_node_bytes_total{service=\"q2t\",node=\"n1\",direction=\"down\"}"] == 7_000)
        #expect(samples["tessera_lb_service_node_connect_failures_total{service=\"p2p\",node=\"n2\"}"] == 1)
        #expect(samples["tessera_lb_service_node_retries_total{service=\"p2p\",node=\"n1\"}"] == 1)

        // A sum of engines with other nodes (a reload removed n2 and added n3) keeps each by name.
        let older = WorkerCounters(services: ["p2p"], nodes: ["n2"])
        older.serviceNodes.bump(0, 0, .connections, 4)
        let newer = WorkerCounters(services: ["p2p"], nodes: ["n3", "n2"])
        newer.serviceNodes.bump(0, 1, .connections, 1)
        newer.serviceNodes.bump(0, 0, .bytesUp, 9)
        let sum = WorkerCounters()
        sum.add(older, gauges: false)
        sum.add(newer, gauges: true)
        let totals = sum.serviceNodeTotals()
        #expect(totals[.init(service: "p2p", node: "n2")]?[.connections] == 5)
        #expect(totals[.init(service: "p2p", node: "n3")]?[.bytesUp] == 9)
        let again = WorkerCounters()
        again.add(sum, gauges: false)
        #expect(again.serviceNodeTotals() == totals)
    }

    @Test("the probe duration histogram counts each probe in its bucket, cumulative in the exposition")
    func probeHistogram() throws {
        var latency = ProbeLatency()
        for seconds in [0.0004, 0.001, 0.003, 0.2, 0.2, 7.5] { latency.record(seconds) }
        #expect(latency.count == 6)
        #expect(latency.last == 7.5)
        #expect(abs(latency.sum - 7.9044) < 1e-9)
        let report = HealthChecker.Report(
            target: .init(node: 0, host: "127.0.0.2", port: 9000), isUp: true, lastResult: .healthy, lastGood: Date(),
            since: Date(), latency: latency
        )
        let fixture = ViewFixture(health: true, reports: [report])
        let samples = try Self.parse(fixture.routes().respond(to: request("GET", "/metrics")).text)
        func bucket(_ le: String) -> Double? {
            samples["tessera_lb_probe_duration_seconds_bucket{node=\"n1\",port=\"9000\",service=\"\",le=\"\(le)\"}"]
        }
        #expect(bucket("0.001") == 2)
        #expect(bucket("0.0025") == 2)
        #expect(bucket("0.005") == 3)
        #expect(bucket("0.25") == 5)
        #expect(bucket("5.0") == 5)
        #expect(bucket("+Inf") == 6)
        #expect(samples["tessera_lb_probe_duration_seconds_count{node=\"n1\",port=\"9000\",service=\"\"}"] == 6)
        #expect(samples["tessera_lb_probe_last_duration_seconds{node=\"n1\",port=\"9000\",service=\"\"}"] == 7.5)
    }
}
