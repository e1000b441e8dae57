import Foundation
import Glibc
import LBStandIn
import LBTestSupport
import Testing

/// deploy/monitoring with Debian's Prometheus: the alert rules' unit tests (promtool), and a real Prometheus
/// scraping a running balancer's admin /metrics on loopback, with the rules loaded, answering every query of
/// the Grafana dashboard.
/// Debian's prometheus package: the server and promtool.
enum PrometheusTools {
    static let server = "/usr/bin/prometheus"
    static let promtool = "/usr/bin/promtool"
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: server) && FileManager.default.isExecutableFile(atPath: promtool)
    }
}

@Suite(
    "deploy/monitoring with a real Prometheus", .serialized,
    .enabled(if: PrometheusTools.available, "prometheus and promtool are not installed (scripts/install-deps test installs them)")
)
struct MonitoringTests {
    static let prometheus = PrometheusTools.server
    static let promtool = PrometheusTools.promtool
    static let folder = DeployTests.root.appendingPathComponent("deploy/monitoring")
    static let rulesFile = "tessera-lb-rules.yml"
    static let rulesTestFile = "tessera-lb-rules-test.yml"

    /// The alert rules' names, from the rules file.
    static func alertNames() throws -> [String] {
        let rules = try DeployTests.yaml("deploy/monitoring/\(rulesFile)")
        let groups = try #require(rules["groups"] as? [[String: Any]])
        return groups.flatMap { ($0["rules"] as? [[String: Any]] ?? []).compactMap { $0["alert"] as? String } }
    }

    /// Every query of the dashboard's panels.
    static func dashboardQueries() throws -> [String] {
        let data = try Data(contentsOf: folder.appendingPathComponent("grafana-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        return panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
    }

    @Test("promtool: the rules check, and their unit tests pass", .timeLimit(.minutes(1)))
    func rulesUnitTests() throws {
        let check = try runCommand(URL(fileURLWithPath: Self.promtool), ["check", "rules", Self.rulesFile], timeout: 30, directory: Self.folder.path)
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        let test = try runCommand(URL(fileURLWithPath: Self.promtool), ["test", "rules", Self.rulesTestFile], timeout: 60, directory: Self.folder.path)
        #expect(test.status == 0, "\(test.stdout) \(test.stderr)")
        #expect(test.stdout.contains("SUCCESS"), "\(test.stdout)")
    }

    @Test(
        "the rules' unit tests have every alert firing at some time and cleared at a later one",
        .timeLimit(.minutes(1))
    )
    func everyAlertFiresAndClears() throws {
        let alerts = try Self.alertNames()
        #expect(
            Set(alerts) == [
                "TesseraLBDown", "TesseraLBNodeDown", "TesseraLBAllNodesDown", "TesseraLBGroupInconsistent",
                "TesseraLBConnectFailuresRising", "TesseraLBDescriptorsNearLimit",
            ]
        )
        let tests = try #require(try DeployTests.yaml("deploy/monitoring/\(Self.rulesTestFile)")["tests"] as? [[String: Any]])
        /// eval_time "12m" or "30s", in seconds.
        func seconds(_ text: String) -> Int {
            let number = Int(text.dropLast()) ?? -1
            return text.hasSuffix("m") ? number * 60 : number
        }
        for alert in alerts {
            var firing: [Int] = [], cleared: [Int] = []
            for test in tests {
                for check in test["alert_rule_test"] as? [[String: Any]] ?? [] where check["alertname"] as? String == alert {
                    let time = seconds("\(check["eval_time"] ?? "")")
                    if (check["exp_alerts"] as? [Any] ?? []).isEmpty { cleared.append(time) } else { firing.append(time) }
                }
            }
            let firstFiring = try #require(firing.min(), "\(alert) never expected to fire")
            #expect(cleared.contains { $0 > firstFiring }, "\(alert) never expected to clear after firing at \(firstFiring) s")
        }
        // And the tests fail when a rule does not fire: with one alert's condition made impossible, promtool
        // test rules fails (so a firing expectation is checked, not skipped).
        let scratch = NSTemporaryDirectory() + "tessera-lb-rules-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let rules = try String(contentsOf: Self.folder.appendingPathComponent(Self.rulesFile), encoding: .utf8)
        let broken = rules.replacingOccurrences(of: "expr: tessera_lb_group_consistent == 0", with: "expr: tessera_lb_group_consistent == 2")
        try #require(broken != rules)
        try broken.write(toFile: scratch + "/" + Self.rulesFile, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            atPath: Self.folder.appendingPathComponent(Self.rulesTestFile).path, toPath: scratch + "/" + Self.rulesTestFile
        )
        let test = try runCommand(URL(fileURLWithPath: Self.promtool), ["test", "rules", Self.rulesTestFile], timeout: 60, directory: scratch)
        #expect(test.status != 0, "\(test.stdout)")
        #expect((test.stdout + test.stderr).contains("alertname: TesseraLBGroupInconsistent"), "\(test.stdout) \(test.stderr)")
    }

    @Test(
        "a real Prometheus scrapes a running balancer: promtool check metrics passes on /metrics, the rules load, and every dashboard query returns data",
        .timeLimit(.minutes(3))
    )
    func prometheusScrapes() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p"), .http(service: "thirdparty")])
        defer { group.stop() }
        let free = distinctFreePorts(4)
        let ports = Array(free[0..<2])
        let adminPort = free[2]
        let admin = "127.0.0.1:\(adminPort)"
        // Two nodes that answer and one nothing listens on, for connect failures and a node down.
        var arguments = [
            "run", "--listen", "127.0.0.1", "--workers", "2", "--admin", admin, "--health-interval", "200",
            // The group check soon (its default is every 30 s), for tessera_lb_group_consistent.
            "--group-check-interval", "500",
            "--service", "p2p=\(ports[0]):\(group.ports[0])", "--service", "thirdparty=\(ports[1]):\(group.ports[1])",
        ]
        for (k, host) in (group.hosts + ["127.0.0.9"]).enumerated() { arguments += ["--node", "\(host):tessera-\(k + 1)"] }
        let balancer = try BalancerProcess(arguments)
        #expect(balancer.waitUntilListening(port: adminPort), "admin listening; log: \(balancer.log)")

        // /metrics as promtool's linter reads it.
        let lint = try runCommand(
            URL(fileURLWithPath: "/bin/sh"), ["-c", "curl -sSf http://$0/metrics | \(Self.promtool) check metrics", admin], timeout: 30
        )
        #expect(lint.status == 0, "promtool check metrics: \(lint.stdout) \(lint.stderr)")

        // Prometheus, scraping every second, with the rules.
        let work = NSTemporaryDirectory() + "tessera-lb-prometheus-\(getpid())"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.copyItem(atPath: Self.folder.appendingPathComponent(Self.rulesFile).path, toPath: work + "/" + Self.rulesFile)
        try """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - \(Self.rulesFile)
            scrape_configs:
              - job_name: tessera-lb
                static_configs:
                  - targets: ["\(admin)"]
            """.write(toFile: work + "/prometheus.yml", atomically: true, encoding: .utf8)
        let webPort = free[3]
        let server = try ChildProcess(
            Self.prometheus,
            ["--config.file=\(work)/prometheus.yml", "--storage.tsdb.path=\(work)/data", "--web.listen-address=127.0.0.1:\(webPort)"],
            environment: ["PATH": "/usr/bin:/bin"]
        )
        #expect(server.waitUntilListening(host: "127.0.0.1", port: webPort, seconds: 60), "prometheus: \(server.log)")
        func query(_ expression: String) throws -> [[String: Any]] {
            let result = try runCommand(
                URL(fileURLWithPath: "/usr/bin/curl"),
                ["-sSf", "--get", "--data-urlencode", "query=\(expression)", "http://127.0.0.1:\(webPort)/api/v1/query"], timeout: 20
            )
            guard result.status == 0,
                let answer = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                let data = answer["data"] as? [String: Any], let samples = data["result"] as? [[String: Any]]
            else { throw TestSocket.Failure(description: "query \(expression): \(result.stdout) \(result.stderr)") }
            return samples
        }

        // Traffic, so that the counters move, and connects to the node that is not there.
        for _ in 0..<20 {
            if let socket = try? TestSocket(host: "127.0.0.1", port: ports[1]) {
                _ = try? HTTPExchange.get("/partyinfo/keys", on: socket, close: true)
                socket.close()
            }
        }
        // The scrape works (up is 1) and the rate() queries have two samples or more.
        #expect(try eventually(within: 60, every: 500) { try query("up{job=\"tessera-lb\"} == 1").count == 1 }, "\(server.log)")
        Thread.sleep(forTimeInterval: 3)

        let rules = try runCommand(URL(fileURLWithPath: "/usr/bin/curl"), ["-sSf", "http://127.0.0.1:\(webPort)/api/v1/rules"], timeout: 20)
        for alert in try Self.alertNames() { #expect(rules.stdout.contains("\"name\":\"\(alert)\""), "rule \(alert) loaded") }
        #expect(rules.stdout.contains("\"health\":\"ok\""), "\(rules.stdout)")
        #expect(!rules.stdout.contains("\"health\":\"err\""), "\(rules.stdout)")
        // The node nothing listens on is down in Prometheus' eyes too.
        #expect(try eventually(within: 30, every: 500) {
            try query("tessera_lb_node_state{node=\"tessera-3\", state=\"down\"} == 1").count == 1
        })

        let queries = try Self.dashboardQueries()
        #expect(queries.count >= 10)
        for expression in queries {
            let samples = try query(expression)
            #expect(!samples.isEmpty, "the dashboard's query \(expression) returns data")
        }
        #expect(server.stop(signal: SIGTERM, seconds: 30) == 0, "\(server.log.suffix(2000))")
        #expect(balancer.stop() == 0)
    }
}
