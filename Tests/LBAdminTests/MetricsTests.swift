import Foundation
import LBBalancing
import LBForwarding
import Synchronization
import Testing

@testable import LBAdmin

@Suite("Prometheus exposition")
struct MetricsTests {
    /// Parses the text format the way a scraper would insist on it: each family's HELP and TYPE before its
    /// samples, no family twice, every sample `name{labels} value` with a number.
    static func parse(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        var families: [String] = []
        var current = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") {
                current = String(line.dropFirst(7).prefix { $0 != " " })
                try #require(!families.contains(current), "family \(current) twice")
                families.append(current)
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                try #require(parts.count == 4 && parts[2] == current && ["counter", "gauge"].contains(parts[3]), "\(line)")
                if parts[3] == "counter" { try #require(current.hasSuffix("_total"), "counter \(current) ends in _total") }
            } else {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                try #require(name == current, "sample \(name) outside its family \(current)")
                let valueText = line.split(separator: " ").last.map(String.init) ?? ""
                let value = try #require(Double(valueText), "value of \(line)")
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
}
