import Foundation
import LBAdminServer
import LBBalancing
import LBConfig
import LBHealth
import LBStandIn
import LBTestSupport
import Logging
import Synchronization
import Testing
import TesseraLB

/// The admin listener on a real balancer: metrics that add up to what clients did, node states on the
/// status page and in JSON, drain and disable, the token, `tessera-lb ctl`, and the page in a real browser.
@Suite("the admin listener", .serialized)
struct AdminTests {
    /// An admin server on 127.0.0.1 (a port the kernel chooses) over a harness's balancer.
    final class Admin: @unchecked Sendable {
        let server: AdminServer
        let endpoint: AdminEndpoint

        init(_ harness: Harness, token: String? = nil) throws {
            var logger = Logger(label: "admin-test")
            logger.logLevel = .error
            server = AdminServer(view: harness.balancer.adminView, token: token, logger: logger)
            endpoint = try server.start(at: AdminEndpoint(host: "127.0.0.1", port: 0))
        }

        /// One request on its own connection.
        func request(_ method: String, _ path: String, headers: [String] = []) throws -> HTTPExchange {
            let socket = try TestSocket(host: endpoint.host, port: endpoint.port)
            let extra = headers.map { "\($0)\r\n" }.joined()
            try socket.send("\(method) \(path) HTTP/1.1\r\nHost: \(endpoint)\r\nConnection: close\r\n\(extra)Content-Length: 0\r\n\r\n")
            return try HTTPExchange.read(from: socket)
        }

        func status() throws -> StatusReport {
            let answer = try request("GET", "/status")
            try #require(answer.status == 200)
            return try StatusReport.decoder().decode(StatusReport.self, from: Data(answer.body.utf8))
        }

        /// `/metrics` as series -> value.
        func metrics() throws -> [String: Double] {
            let answer = try request("GET", "/metrics")
            try #require(answer.status == 200)
            var samples: [String: Double] = [:]
            for line in answer.body.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                    Issue.record("malformed sample: \(line)")
                    continue
                }
                samples[String(line[..<space])] = value
            }
            return samples
        }

        func stop() { server.stop() }
    }

    /// The sum of a family's series (e.g. over workers), optionally only those whose labels contain `having`.
    private func sum(_ samples: [String: Double], _ family: String, having: String = "") -> Int {
        Int(samples.filter { $0.key.hasPrefix(family + "{") && (having.isEmpty || $0.key.contains(having)) }.values.reduce(0, +))
    }

    /// Two or three stand-ins serving P2P (probed) and Q2T, behind a balancer probing fast. `before` runs on the
    /// stand-ins before the balancer starts (its first probes go out at once).
    private func probedHarness(nodes: Int = 2, before: (StandInGroup) -> Void = { _ in }) throws -> Harness {
        let group = try StandInGroup(count: nodes, speaks: [.http(service: "p2p"), .http(service: "q2t")])
        before(group)
        return try Harness(hosts: group.hosts, nodePorts: group.ports, group: group) { config in
            config.services[0].name = "p2p"
            config.services[1].name = "q2t"
            config.health.enabled = true
            config.health.intervalMs = 150
            config.health.fastIntervalMs = 100
            config.health.timeoutMs = 200
            config.health.fall = 2
            config.health.rise = 2
        }
    }

    /// The node that answers a request on a fresh connection to Q2T.
    private func whoAnswers(_ harness: Harness) throws -> String? {
        try HTTPExchange.get("/send", on: harness.connect(1), close: true).node
    }

    @Test("an admin server bound before it starts refuses connections until it listens, then serves", .timeLimit(.minutes(1)))
    func boundBeforeStart() throws {
        let harness = try Harness(nodes: 1, speaks: [.http(service: "p2p")])
        defer { harness.stop() }
        var logger = Logger(label: "admin-test")
        logger.logLevel = .error
        let server = AdminServer(view: harness.balancer.adminView, token: nil, logger: logger)
        defer { server.stop() }
        let endpoint = AdminEndpoint(host: "127.0.0.1", port: freePort())
        try server.bind(endpoint)
        // Bound, not listening: a client is refused, not left waiting.
        #expect(throws: (any Error).self, "refused before it listens") { try TestSocket(host: endpoint.host, port: endpoint.port) }
        let bound = try server.start(at: endpoint)
        #expect(bound.port == endpoint.port)
        let answer = try HTTPExchange.get("/healthz", on: TestSocket(host: endpoint.host, port: endpoint.port), close: true)
        #expect(answer.status == 200)
    }

    // MARK: - Metrics

    @Test("metrics scraped during load add up to what the clients did", .timeLimit(.minutes(1)))
    func metricsAddUp() throws {
        let harness = try Harness(speaks: [.echo]) { $0.health.enabled = false }
        defer { harness.stop() }
        let admin = try Admin(harness)
        defer { admin.stop() }

        let clients = 4
        let perClient = 40
        let sent = Atomic<Int>(0)
        let received = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        let threads = (0..<clients).map { c in
            Thread {
                for k in 0..<perClient {
                    do {
                        let socket = try harness.connect()
                        let data = TestData.bytes(count: 40_000 + 8 * (c * perClient + k), seed: UInt64(k))
                        try socket.send(data)
                        socket.shutdownWrite()
                        let echoed = try socket.receiveAll()
                        sent.add(data.count, ordering: .relaxed)
                        received.add(echoed.count, ordering: .relaxed)
                    } catch {
                        failures.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        threads.forEach { $0.start() }
        // Scrape while the load runs: every scrape parses, and the counters only grow.
        var scrapes = 0
        var lastAccepted = 0
        while !threads.allSatisfy(\.isFinished) && scrapes < 500 {
            let accepted = sum(try admin.metrics(), "tessera_lb_worker_accepted_connections_total")
            #expect(accepted >= lastAccepted)
            lastAccepted = accepted
            scrapes += 1
        }
        #expect(eventually(within: 30) { threads.allSatisfy(\.isFinished) })
        #expect(failures.load(ordering: .relaxed) == 0)
        let total = clients * perClient
        var last: [String: Double] = [:]
        let addsUp = try eventually(within: 5) {
            last = try admin.metrics()
            return sum(last, "tessera_lb_worker_accepted_connections_total") == total
                && sum(last, "tessera_lb_worker_bytes_total", having: "direction=\"up\"") == sent.load(ordering: .relaxed)
                && sum(last, "tessera_lb_worker_bytes_total", having: "direction=\"down\"") == received.load(ordering: .relaxed)
                && last["tessera_lb_open_connections"] == 0
                && sum(last, "tessera_lb_node_active_connections") == 0
        }
        #expect(
            addsUp,
            """
            \(total) connections, \(sent.load(ordering: .relaxed)) bytes up, \(received.load(ordering: .relaxed)) down; \
            metrics: accepted \(sum(last, "tessera_lb_worker_accepted_connections_total")), \
            up \(sum(last, "tessera_lb_worker_bytes_total", having: "\"up\"")), \
            down \(sum(last, "tessera_lb_worker_bytes_total", having: "\"down\"")), open \(last["tessera_lb_open_connections"] ?? -1)
            """
        )
        #expect(scrapes > 0)
        #expect(sum(last, "tessera_lb_worker_events_total") > 0)
        #expect(last["tessera_lb_workers"] == 2)
        print("metrics: \(scrapes) scrapes during \(total) connections")
    }

    @Test(
        "per service and node, metrics and status add up to what the clients did with each node",
        .timeLimit(.minutes(1)), arguments: allEngines
    )
    func perNodeMetricsAddUp(path: DataPath) throws {
        // n1 and n2 answer (and name themselves); nothing listens on n3's address, so its connects are refused
        // and retried on the others.
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p"), .http(service: "q2t")])
        let harness = try Harness(hosts: group.hosts + ["127.0.0.9"], nodePorts: group.ports, group: group, path: path) {
            $0.services[0].name = "p2p"
            $0.services[1].name = "q2t"
        }
        defer { harness.stop() }
        let admin = try Admin(harness)
        defer { admin.stop() }

        /// What the clients did with one service and node: connections, bytes sent, bytes received.
        struct Seen { var connections = 0, up = 0, down = 0 }
        let seen = Mutex<[String: Seen]>([:])
        let failures = Mutex<[String]>([])
        let clients = 4
        let perClient = 30
        let threads = (0..<clients).map { c in
            Thread {
                for k in 0..<perClient {
                    let service = (c + k) % 2
                    do {
                        let socket = try harness.connect(service)
                        let body = TestData.bytes(count: 8 * (1 + (c * perClient + k) * 37 % 5_000), seed: UInt64(k))
                        let head = "POST /send HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: \(body.count)\r\n\r\n"
                        try socket.send(Array(head.utf8) + body)
                        let reply = try socket.receiveAll()
                        socket.close()
                        let text = String(decoding: reply, as: UTF8.self)
                        guard let at = text.range(of: "\"node\":\""), let node = text[at.upperBound...].split(separator: "\"").first else {
                            failures.withLock { $0.append("no node in \(text.prefix(200))") }
                            continue
                        }
                        let key = "\(service == 0 ? "p2p" : "q2t")/\(node)"
                        seen.withLock {
                            $0[key, default: Seen()].connections += 1
                            $0[key, default: Seen()].up += head.utf8.count + body.count
                            $0[key, default: Seen()].down += reply.count
                        }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
        }
        threads.forEach { $0.start() }
        #expect(eventually(within: 40) { threads.allSatisfy(\.isFinished) })
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(3))")
        let expected = seen.withLock { $0 }
        #expect(expected.values.reduce(0) { $0 + $1.connections } == clients * perClient)
        #expect(expected.keys.allSatisfy { !$0.hasSuffix("/n3") })

        func series(_ family: String, _ service: String, _ node: String, _ extra: String = "") -> String {
            "\(family){service=\"\(service)\",node=\"\(node)\"\(extra)}"
        }
        var last: [String: Double] = [:]
        var mismatches: [String] = []
        let addsUp = try eventually(within: 5) {
            last = try admin.metrics()
            mismatches = []
            for service in ["p2p", "q2t"] {
                for node in ["n1", "n2", "n3"] {
                    let want = expected["\(service)/\(node)"] ?? Seen()
                    let got = Seen(
                        connections: Int(last[series("tessera_lb_service_node_connections_total", service, node)] ?? -1),
                        up: Int(last[series("tessera_lb_service_node_bytes_total", service, node, ",direction=\"up\"")] ?? -1),
                        down: Int(last[series("tessera_lb_service_node_bytes_total", service, node, ",direction=\"down\"")] ?? -1)
                    )
                    if got.connections != want.connections || got.up != want.up || got.down != want.down {
                        mismatches.append("\(service)/\(node): clients \(want), metrics \(got)")
                    }
                }
            }
            return mismatches.isEmpty && last["tessera_lb_open_connections"] == 0
        }
        #expect(addsUp, "\(mismatches)")
        // Every refused connect to n3 was retried on n1 or n2, and counted there as a retry.
        let n3Failures = sum(last, "tessera_lb_service_node_connect_failures_total", having: "node=\"n3\"")
        #expect(n3Failures > 0, "n3 was tried")
        #expect(n3Failures == sum(last, "tessera_lb_worker_connect_failures_total"))
        #expect(sum(last, "tessera_lb_service_node_connect_failures_total") == n3Failures)
        #expect(sum(last, "tessera_lb_service_node_retries_total") == sum(last, "tessera_lb_worker_retries_total"))
        #expect(sum(last, "tessera_lb_service_node_retries_total", having: "node=\"n3\"") == 0)
        #expect(sum(last, "tessera_lb_service_node_retries_total") == n3Failures)

        // The status JSON says the same, per node and per service and node.
        let report = try admin.status()
        for node in report.nodes {
            let want = expected.filter { $0.key.hasSuffix("/\(node.name)") }.values
            #expect(node.traffic.connections == want.reduce(0) { $0 + $1.connections }, "\(node.name)")
            #expect(node.traffic.bytesUp == want.reduce(0) { $0 + $1.up }, "\(node.name)")
            #expect(node.traffic.bytesDown == want.reduce(0) { $0 + $1.down }, "\(node.name)")
        }
        for service in report.services {
            for node in service.nodes {
                let want = expected["\(service.name)/\(node.name)"] ?? Seen()
                #expect(node.traffic.connections == want.connections && node.traffic.bytesUp == want.up, "\(service.name)/\(node.name)")
            }
        }
        #expect(report.services.flatMap(\.nodes).reduce(0) { $0 + $1.connectFailures } == n3Failures)
    }

    @Test("probe durations: a node answering at once and one too slow land in their buckets", .timeLimit(.minutes(1)))
    func probeDurations() throws {
        // n2 answers after 2 s from the first probe on: every probe of n2 runs into the 200 ms timeout.
        let harness = try probedHarness { $0.nodes[1].setMode(.slow) }
        defer { harness.stop() }
        let admin = try Admin(harness)
        defer { admin.stop() }

        let p2p = harness.group!.ports[0]
        func series(_ name: String, _ node: String, _ extra: String = "") -> String {
            "\(name){node=\"\(node)\",port=\"\(p2p)\",service=\"\"\(extra)}"
        }
        var last: [String: Double] = [:]
        #expect(
            try eventually(within: 10) {
                last = try admin.metrics()
                return (last[series("tessera_lb_probe_duration_seconds_count", "n1")] ?? 0) >= 3
                    && (last[series("tessera_lb_probe_duration_seconds_count", "n2")] ?? 0) >= 3
            },
            "\(last.filter { $0.key.hasPrefix("tessera_lb_probe_duration") })"
        )
        // n2's probes all gave up at the timeout: none was quick, each took about 200 ms.
        let n2Count = last[series("tessera_lb_probe_duration_seconds_count", "n2")] ?? 0
        let n2Sum = last[series("tessera_lb_probe_duration_seconds_sum", "n2")] ?? 0
        #expect(last[series("tessera_lb_probe_duration_seconds_bucket", "n2", ",le=\"0.1\"")] == 0)
        #expect(n2Sum / n2Count >= 0.19 && n2Sum / n2Count < 2, "mean \(n2Sum / n2Count) s")
        #expect((last[series("tessera_lb_probe_last_duration_seconds", "n2")] ?? 0) >= 0.19)
        #expect(last[series("tessera_lb_probe_last_result", "n2", ",result=\"timeout\"")] == 1)
        // n1 answers on loopback at once: some of its probes took less than 100 ms, and it is up.
        #expect((last[series("tessera_lb_probe_duration_seconds_bucket", "n1", ",le=\"0.1\"")] ?? 0) > 0)
        #expect((last[series("tessera_lb_probe_last_duration_seconds", "n1")] ?? 0) > 0)
        #expect(last[series("tessera_lb_probe_last_result", "n1", ",result=\"healthy\"")] == 1)
        // The status JSON carries the last duration too.
        let n2 = try admin.status().nodes[1]
        #expect((n2.probes.first?.lastDuration ?? 0) >= 0.19)
    }

    // MARK: - Status

    @Test("the status JSON and page show a node go down, why, and come back", .timeLimit(.minutes(1)))
    func downAndBack() throws {
        let harness = try probedHarness()
        defer { harness.stop() }
        let admin = try Admin(harness)
        defer { admin.stop() }
        #expect(try eventually { try admin.status().nodes.allSatisfy { $0.state == .up && $0.probes.allSatisfy { $0.lastGood != nil } } })

        harness.group!.nodes[0].setMode(.refuse)
        var seen: StatusReport? = nil
        #expect(try eventually { seen = try admin.status(); return seen?.nodes[0].state == .down }, "n1 down: \(String(describing: seen?.nodes[0]))")
        let down = try #require(seen?.nodes[0])
        #expect(down.reason.contains("refused"), "the reason: \(down.reason)")
        #expect(seen?.nodes[1].state == .up)
        #expect(seen?.services.allSatisfy { $0.available == 1 } == true)
        #expect(seen?.transitions.first.map { "\($0.node) \($0.from.rawValue)>\($0.to.rawValue)" } == "n1 up>down")
        let page = try admin.request("GET", "/").body
        #expect(page.contains("data-node=\"n1\" data-state=\"down\""))
        #expect(page.contains("connection refused"))

        harness.group!.nodes[0].setMode(.up)
        #expect(try eventually { seen = try admin.status(); return seen?.nodes[0].state == .up }, "n1 back")
        let changes = seen?.transitions.filter { $0.node == "n1" }.map { "\($0.from.rawValue)>\($0.to.rawValue)" }
        #expect(changes == ["down>up", "up>down"])
        #expect(seen?.nodes[0].stateChanges == 2)
        #expect(try admin.metrics()["tessera_lb_node_state_changes_total{node=\"n1\"}"] == 2)
        #expect(try admin.request("GET", "/").body.contains("data-node=\"n1\" data-state=\"up\""))
    }

    // MARK: - Control

    @Test("drain lets an open connection finish while new ones go elsewhere", .timeLimit(.minutes(1)))
    func drain() throws {
        let harness = try probedHarness()
        defer { harness.stop() }
        let admin = try Admin(harness)
        defer { admin.stop() }
        var held: TestSocket? = nil
        for _ in 0..<20 where held == nil {
            let client = try harness.connect(1)
            if try HTTPExchange.get("/send", on: client).node == "n1" { held = client }
        }
        let open = try #require(held, "a keep-alive connection to n1")

        let answer = try admin.request("POST", "/nodes/n1/drain")
        #expect(answer.status == 200, "\(answer.body)")
        #expect(try admin.status().nodes[0].state == .draining)
        for _ in 0..<10 { #expect(try whoAnswers(harness) == "n2", "new connections go to n2") }
        #expect(try admin.status().nodes[0].activeConnections == 1)
        #expect(try HTTPExchange.get("/send", on: open).node == "n1", "the open connection still works, on n1")
        open.close()
        #expect(try eventually { try admin.status().nodes[0].activeConnections == 0 })

        #expect(try admin.request("POST", "/nodes/n1/enable").status == 200)
        #expect(try eventually { try whoAnswers(harness) == "n1" }, "n1 takes connections again")
    }

    @Test("disable closes a node's connections and survives successful probes", .timeLimit(.minutes(1)))
    func disableSurvivesProbes() throws {
        let harness = try probedHarness()
        defer { harness.stop() }
        let admin = try Admin(harness)
        defer { admin.stop() }
        var held: TestSocket? = nil
        for _ in 0..<20 where held == nil {
            let client = try harness.connect(1)
            if try HTTPExchange.get("/send", on: client).node == "n1" { held = client }
        }
        let open = try #require(held)

        let disabledAt = Date()
        #expect(try admin.request("POST", "/nodes/n1/disable").status == 200)
        #expect(((try? open.receive()) ?? []).isEmpty, "the open connection to n1 is closed (shutdown-sessions)")
        // Several good probes after the disable: the probe loop has n1 up, and it stays disabled.
        let n1Probe = { harness.balancer.health!.report.first { $0.target.node == 0 }! }
        #expect(eventually(within: 5) { (n1Probe().lastGood ?? .distantPast) > disabledAt.addingTimeInterval(0.6) })
        let status = try admin.status()
        #expect(status.nodes[0].state == .disabled)
        #expect(status.nodes[0].markedUp, "the probe says up")
        #expect(status.nodes[0].probes.first?.lastResult == "healthy")
        for _ in 0..<10 { #expect(try whoAnswers(harness) == "n2") }
        #expect(try admin.metrics()["tessera_lb_node_state{node=\"n1\",state=\"disabled\"}"] == 1)

        #expect(try admin.request("POST", "/nodes/n1/enable").status == 200)
        #expect(try eventually { try whoAnswers(harness) == "n1" })
    }

    @Test("with a token, control without it is refused and with it is done", .timeLimit(.minutes(1)))
    func token() throws {
        let harness = try probedHarness()
        defer { harness.stop() }
        let admin = try Admin(harness, token: "c0rrect-horse")
        defer { admin.stop() }
        #expect(try admin.request("POST", "/nodes/n2/disable").status == 401)
        #expect(try admin.request("POST", "/nodes/n2/disable", headers: ["Authorization: Bearer wrong"]).status == 401)
        #expect(harness.balancer.nodes[1].adminState == .enabled)
        #expect(try admin.request("GET", "/status").status == 200, "reading needs no token")
        #expect(try admin.request("POST", "/nodes/n2/disable", headers: ["Authorization: Bearer c0rrect-horse"]).status == 200)
        #expect(harness.balancer.nodes[1].adminState == .disabled)

        // The same through ctl: refused without the token, done with it from the environment.
        let ctl = tesseraLBExecutable()
        let refused = try runCommand(ctl, ["ctl", "enable", "n2", "--admin", "\(admin.endpoint)"], environment: [:])
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("401"))
        let done = try runCommand(
            ctl, ["ctl", "enable", "n2", "--admin", "\(admin.endpoint)"], environment: ["TESSERA_LB_ADMIN_TOKEN": "c0rrect-horse"]
        )
        #expect(done.status == 0, "\(done.stdout)\(done.stderr)")
        #expect(done.stdout == "n2: enabled (was disabled); state now up\n")
        #expect(harness.balancer.nodes[1].adminState == .enabled)
    }

    @Test("tessera-lb ctl drains and shows the state; an unknown node or no listener is exit status 1", .timeLimit(.minutes(1)))
    func ctl() throws {
        let harness = try probedHarness()
        defer { harness.stop() }
        let admin = try Admin(harness)
        defer { admin.stop() }
        let ctl = tesseraLBExecutable()
        let drained = try runCommand(ctl, ["ctl", "drain", "n1", "--admin", "\(admin.endpoint)"])
        #expect(drained.status == 0, "\(drained.stderr)")
        #expect(drained.stdout == "n1: draining (was enabled); state now draining\n")
        #expect(harness.balancer.nodes[0].adminState == .draining)

        let status = try runCommand(ctl, ["ctl", "status", "--admin", "\(admin.endpoint)"])
        #expect(status.status == 0, "\(status.stderr)")
        let n1 = status.stdout.split(separator: "\n").first { $0.hasPrefix("n1 ") }.map(String.init) ?? ""
        #expect(n1.contains("draining") && n1.contains("draining by operator"), "\(status.stdout)")
        #expect(status.stdout.contains("n1: up -> draining"))
        let json = try runCommand(ctl, ["ctl", "status", "--json", "--admin", "\(admin.endpoint)"])
        #expect((try? StatusReport.decoder().decode(StatusReport.self, from: Data(json.stdout.utf8)))?.nodes[0].state == .draining)

        let unknown = try runCommand(ctl, ["ctl", "disable", "n7", "--admin", "\(admin.endpoint)"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no node named \\\"n7\\\"") || unknown.stderr.contains("no node named \"n7\""), "\(unknown.stderr)")
        let nobody = try runCommand(ctl, ["ctl", "status", "--admin", "127.0.0.1:\(freePort())"])
        #expect(nobody.status == 1)
        #expect(nobody.stderr.hasPrefix("tessera-lb: cannot reach the admin listener"), "\(nobody.stderr)")
        let bad = try runCommand(ctl, ["ctl", "status", "--admin", "nowhere"])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("tessera-lb: invalid --admin \"nowhere\""), "\(bad.stderr)")
    }

    // MARK: - In a browser

    /// Debian's chromium, headless: what an operator's browser does with the page.
    private struct Chromium {
        static let path = "/usr/bin/chromium"
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-lb-chromium-\(UUID().uuidString)")

        func run(_ arguments: [String]) throws -> CommandResult {
            let common = [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--user-data-dir=\(profile.path)",
            ]
            return try runCommand(URL(fileURLWithPath: Self.path), common + arguments, timeout: 30)
        }

        /// The DOM after the page's script ran for `seconds` of virtual time (network waits do not count).
        func dom(_ url: String, seconds: Int = 5) throws -> String {
            let result = try run(["--dump-dom", "--virtual-time-budget=\(seconds * 1000)", url])
            try #require(result.status == 0, "chromium: \(result.stderr.suffix(500))")
            return result.stdout
        }

        func screenshot(_ url: String, to file: URL) throws {
            let result = try run(["--hide-scrollbars", "--window-size=1280,900", "--screenshot=\(file.path)", url])
            try #require(result.status == 0, "chromium: \(result.stderr.suffix(500))")
        }

        func cleanUp() { try? FileManager.default.removeItem(at: profile) }
    }

    /// How often the page's script swapped in a fresh render (`<body data-refreshes="N">`).
    private func refreshes(_ dom: String) -> Int {
        guard let range = dom.range(of: "data-refreshes=\"") else { return -1 }
        return Int(dom[range.upperBound...].prefix { $0.isNumber }) ?? -1
    }

    /// Set STATUS_PAGE_SCREENSHOT=/path/to/docs/status-page.png to keep the screenshot (docs/operations.md).
    @Test("in a real browser the page renders, refreshes itself, and shows a node go down and come back", .tags(.browser), .timeLimit(.minutes(1)))
    func browser() throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Chromium.path),
            "Debian's chromium is needed for this test: scripts/install-deps test installs it"
        )
        let chromium = Chromium()
        defer { chromium.cleanUp() }
        let harness = try probedHarness(nodes: 3)
        defer { harness.stop() }
        let admin = try Admin(harness)
        defer { admin.stop() }
        let url = "http://\(admin.endpoint)/"
        #expect(try eventually { try admin.status().nodes.allSatisfy { $0.probes.allSatisfy { $0.lastGood != nil } } })

        let load = LoadClients(port: harness.port(1), clients: 2, timeout: 1, maxSeconds: 30)
        defer { load.stop() }
        #expect(try admin.request("POST", "/nodes/n2/drain").status == 200)
        harness.group!.nodes[2].setMode(.refuse)
        #expect(try eventually { try admin.status().nodes[2].state == .down })

        let down = try chromium.dom(url)
        #expect(down.contains("data-node=\"n1\" data-state=\"up\""), "\(down)")
        #expect(down.contains("data-node=\"n2\" data-state=\"draining\""))
        #expect(down.contains("data-node=\"n3\" data-state=\"down\""))
        #expect(down.contains("connection refused"))
        #expect(refreshes(down) >= 1, "the page's script re-rendered it (data-refreshes \(refreshes(down)))")

        _ = eventually(within: 3) { load.elapsed > 2.5 }  // a couple of seconds of traffic for the rates
        let keep = ProcessInfo.processInfo.environment["STATUS_PAGE_SCREENSHOT"].map { URL(fileURLWithPath: $0) }
        let file = keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("status-page-\(UUID().uuidString).png")
        try chromium.screenshot(url, to: file)
        let png = try Data(contentsOf: file)
        if keep == nil { try? FileManager.default.removeItem(at: file) }
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
        #expect(png.count > 20_000, "a page with content: \(png.count) bytes")
        load.stop()

        harness.group!.nodes[2].setMode(.up)
        #expect(try eventually { try admin.status().nodes[2].state == .up })
        let back = try chromium.dom(url, seconds: 1)
        #expect(back.contains("data-node=\"n3\" data-state=\"up\""))
        let transitions = back.components(separatedBy: "class=\"transition\"").dropFirst()
        #expect(transitions.first?.contains("badge down\">down</span> → <span class=\"badge up\">up") == true, "newest first: n3 came back")
    }

    // MARK: - The process

    @Test("tessera-lb run serves the admin listener and logs JSON lines", .timeLimit(.minutes(1)))
    func process() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        let adminPort = freePort()
        var arguments = ["run", "--listen", "127.0.0.1", "--workers", "1", "--service", "p2p=\(port):\(group.ports[0])"]
        for host in group.hosts { arguments += ["--node", host] }
        arguments += ["--admin", "127.0.0.1:\(adminPort)", "--log-format", "json", "--log-level", "info", "--engine", "io_uring"]
        let balancer = try BalancerProcess(arguments)
        #expect(balancer.waitUntilListening(port: adminPort), "admin listening; log: \(balancer.log)")
        let socket = try TestSocket(host: "127.0.0.1", port: adminPort)
        let metrics = try HTTPExchange.get("/metrics", on: socket, host: "127.0.0.1:\(adminPort)")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("tessera_lb_engine_info{engine=\"io_uring\""))
        // Nodes given as --node HOST are named after their host.
        let drained = try runCommand(tesseraLBExecutable(), ["ctl", "drain", group.hosts[0], "--admin", "127.0.0.1:\(adminPort)"])
        #expect(drained.status == 0, "\(drained.stderr)")
        #expect(balancer.stop() == 0)
        let lines = balancer.log.split(separator: "\n")
        #expect(lines.count >= 4, "\(balancer.log)")
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] != nil && object?["message"] != nil && object?["time"] != nil, "a JSON log line: \(line)")
        }
        #expect(balancer.log.contains("\"message\":\"admin listening\""))
        #expect(balancer.log.contains("\"message\":\"node draining by operator\""))
    }

    @Test("invalid admin and log flags: one line naming the flag, exit status 2", .timeLimit(.minutes(1)), arguments: [
        (["--admin", "0.0.0.0:9990"], "tessera-lb: invalid --admin \"0.0.0.0:9990\": is not a loopback address"),
        (["--admin", "somewhere"], "tessera-lb: invalid --admin \"somewhere\": expected ADDR:PORT"),
        (["--admin-token", "two words"], "tessera-lb: invalid --admin-token: must be one or more visible ASCII"),
        (["--log-format", "xml"], "tessera-lb: invalid --log-format \"xml\": must be text or json"),
        (["--log-level", "loud"], "tessera-lb: invalid --log-level \"loud\": must be trace, debug"),
        (["--admin-max-conns", "0"], "tessera-lb: invalid --admin-max-conns \"0\": must be a whole number from 1 to 65536"),
        (["--admin-max-conns", "+5"], "tessera-lb: invalid --admin-max-conns \"+5\": must be a whole number from 1 to 65536"),
    ])
    func invalidFlags(flags: [String], message: String) throws {
        let result = try runCommand(tesseraLBExecutable(), ["run", "--listen", "127.0.0.1", "--node", "127.0.0.2"] + flags, timeout: 10)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("an admin address that is not on loopback starts with a token", .timeLimit(.minutes(1)))
    func nonLoopbackWithToken() throws {
        let group = try StandInGroup(count: 1, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        let adminPort = freePort()
        let balancer = try BalancerProcess([
            "run", "--listen", "127.0.0.1", "--workers", "1", "--node", group.hosts[0], "--service", "p2p=\(port):\(group.ports[0])",
            "--admin", "0.0.0.0:\(adminPort)", "--admin-token", "t0ken",
        ])
        #expect(balancer.waitUntilListening(port: adminPort), "\(balancer.log)")
        #expect(balancer.stop() == 0)
    }
}
