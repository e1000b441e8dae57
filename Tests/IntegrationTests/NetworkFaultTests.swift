import Foundation
import LBAdminServer
import LBBalancing
import LBConfig
import LBHealth
import LBStandIn
import LBTestSupport
import Testing
import TesseraLB

/// Faults below HTTP and around it: a node whose packets are dropped (in a network namespace the test makes),
/// a node that answers too slowly, and a probe port that answers something that is not HTTP. What is logged is
/// asserted on real `tessera-lb run` processes.
@Suite("network faults", .serialized)
struct NetworkFaultTests {
    // MARK: - Packets dropped

    /// The probe defaults (docs/health.md): interval 1 s (fast 300 ms), timeout 1 s, fall 2, rise 2.
    static let interval = 1.0
    static let fastInterval = 0.3
    static let timeout = 1.0
    static let fall = 2.0
    static let rise = 2.0
    /// Slack for a loaded 2-core machine (other builds run beside the suite).
    static let slack = 1.0

    @Test(
        "a node whose packets are dropped is marked down within fall x interval + timeout, reason timeout; then no client fails, its held connections are closed, and it is back after rise probes, not before",
        .timeLimit(.minutes(1))
    )
    func droppedPackets() throws {
        let namespace = try NetworkNamespace(tag: "drop")
        defer { namespace.remove() }
        // n2 on loopback (ports from the kernel); n1 on the same ports in the namespace, as a process of its own.
        let n2 = try StandInNode(name: "n2", ports: [.init(0, .http(service: "p2p")), .init(0, .http(service: "q2t"))])
        defer { n2.stop() }
        let nodePorts = n2.boundPorts
        let n1 = try BalancerProcess(
            ["stand-in", "--host", namespace.address, "--name", "n1", "--port", "p2p=\(nodePorts[0])",
             "--port", "q2t=\(nodePorts[1])"],
            wrapper: namespace.wrapper
        )
        defer { n1.stop() }
        try #require(
            n1.waitUntilListening(host: namespace.address, port: nodePorts[1]), "n1 in the namespace; log: \(n1.log)"
        )

        // The balancer with the probe's defaults. Passive checks off (--max-fails 0): connects to the silent node
        // time out too, and could take it out first (reason max_fails); this test is about the probe.
        let listen = [freePort(), freePort()]
        let adminPort = freePort()
        let balancer = try BalancerProcess([
            "run", "--listen", "127.0.0.1", "--workers", "2",
            "--node", "\(namespace.address):n1", "--node", "127.0.0.1:n2",
            "--service", "p2p=\(listen[0]):\(nodePorts[0])", "--service", "q2t=\(listen[1]):\(nodePorts[1])",
            "--max-fails", "0", "--admin", "127.0.0.1:\(adminPort)", "--log-format", "json",
        ])
        defer { balancer.stop() }
        try #require(balancer.waitUntilListening(port: listen[1]), "log: \(balancer.log)")
        try #require(balancer.waitUntilListening(port: adminPort), "log: \(balancer.log)")
        // Steady state: both nodes passed a probe (not the start-up state, where one failed probe is enough).
        let steady = eventually(within: 5, every: 50) {
            (try? status(adminPort))?.nodes.allSatisfy { $0.probes.allSatisfy { $0.lastGood != nil } } ?? false
        }
        try #require(steady, "both nodes probed good; log: \(balancer.log)")

        // Connections held open (keep-alive) through the balancer; those on n1 must be closed at mark-down.
        var held: [TestSocket] = []
        for _ in 0..<16 {
            let client = try TestSocket(host: "127.0.0.1", port: listen[1], timeout: 5)
            if try HTTPExchange.get("/send", on: client).node == "n1" { held.append(client) }
        }
        try #require(!held.isEmpty, "some held connections went to n1")

        let load = LoadClients(port: listen[1], clients: 4, timeout: 1, maxSeconds: 40, maxRequests: 100_000)
        defer { load.stop() }
        // Load time (seconds since the load started) of a moment of the wall clock, for the log's timestamps.
        let loadStart = Date().addingTimeInterval(-load.elapsed)
        func loadTime(_ date: Date) -> Double { date.timeIntervalSince(loadStart) }
        #expect(eventually(within: 5) { Set(load.all.compactMap(\.node)) == ["n1", "n2"] }, "both nodes serve at first")

        // Drop n1's packets, both ways.
        let droppedAt = load.elapsed
        try namespace.dropPackets()
        var down: BalancerLogLine?
        let markedDown = eventually(within: 10) {
            down = BalancerLogLine.all(in: balancer.log).first { $0.message == "node down" && $0["node"] == "n1" }
            return down != nil
        }
        let seenAt = load.elapsed
        try #require(markedDown, "n1 marked down; log: \(balancer.log)")
        let line = try #require(down)
        let markDown = loadTime(line.time) - droppedAt
        #expect(line["reason"] == "timeout", "reason: \(line.fields)")
        let bound = Self.fall * Self.interval + Self.timeout + Self.slack
        #expect(markDown <= bound, "marked down \(markDown) s after the drop; bound \(bound) s")
        // It took `fall` probes that each waited out the timeout: nothing else took the node out. (Less 0.5 s:
        // the first failing probe may have started a little before the rule took effect; 1.97 s was seen.)
        #expect(markDown >= Self.fall * Self.timeout - 0.5, "marked down after \(markDown) s")

        // Held connections to n1: closed by the balancer (end of stream; one left open would fail here on its 5 s
        // receive timeout), and a client that reconnects is served by n2.
        for client in held {
            switch Result(catching: { try client.receive() }) {
            case .success(let bytes): #expect(bytes.isEmpty, "end of stream, not \(bytes.count) bytes")
            case .failure(let error): Issue.record("a held connection to n1 was not closed: \(error)")
            }
            client.close()
            let again = try TestSocket(host: "127.0.0.1", port: listen[1], timeout: 5)
            #expect(try HTTPExchange.get("/send", on: again, close: true).node == "n2", "reconnected to n2")
        }

        // Every request started after the mark-down succeeds, on n2. The line is logged once n1 is out of the
        // pools; its time has millisecond resolution.
        let markedDownAt = loadTime(line.time) + 0.002
        #expect(eventually(within: 10) { load.elapsed > seenAt + 2 })
        let after = load.between(markedDownAt)
        #expect(after.count > 20, "load kept going: \(after.count) requests")
        let failed = after.filter { $0.node == nil }
        #expect(failed.isEmpty, "\(failed.count) of \(after.count) failed after the mark-down, e.g. \(failed.first?.failure ?? "")")
        #expect(after.allSatisfy { $0.node == nil || $0.node == "n2" }, "only n2 answers while n1 is down")
        let lostBefore = load.between(droppedAt, markedDownAt).filter { $0.node == nil }.count

        // Packets pass again: n1 is marked up after `rise` good probes, and gets no client before that. The two
        // good probes can come back to back (the probe in flight at the restore may get its retransmitted SYN
        // through just in time, and the next starts at once), so rather than watching for a good probe while n1
        // is still down, count the probe connections n1 accepted until it was marked up: only probes reach its
        // P2P port here.
        try namespace.countAcceptedConnections(port: nodePorts[0])
        let restoredAt = load.elapsed
        try namespace.passPackets()
        var up: BalancerLogLine?
        let back = eventually(within: 10, every: 20) {
            up = BalancerLogLine.all(in: balancer.log).first { $0.message == "node up" && $0["node"] == "n1" }
            return up != nil
        }
        try #require(back, "n1 marked up again; log: \(balancer.log)")
        let probesBeforeUp = try namespace.acceptedConnections(port: nodePorts[0])
        let upAt = loadTime(try #require(up).time)
        #expect(probesBeforeUp >= Int(Self.rise), "n1 was marked up after \(probesBeforeUp) probe connections")
        let upBound = (Self.interval + (Self.rise - 1) * Self.fastInterval) * 1.1 + Self.slack
        #expect(upAt - restoredAt <= upBound, "up \(upAt - restoredAt) s after the restore; bound \(upBound) s")
        // Requests picked before the mark-up did not go to n1 (0.2 s: a request's start precedes its pick).
        let early = load.between(restoredAt, upAt - 0.2).filter { $0.node == "n1" }
        #expect(early.isEmpty, "\(early.count) requests reached n1 before it was marked up")
        #expect(eventually(within: 5) { load.between(upAt).contains { $0.node == "n1" } }, "n1 answers again")
        load.stop()
        print(
            "dropped packets: n1 marked down \(String(format: "%.2f", markDown)) s after the drop (reason timeout); "
                + "\(lostBefore) client requests failed before, 0 of \(after.count) after; "
                + "up \(String(format: "%.2f", upAt - restoredAt)) s after the restore, after \(probesBeforeUp) probes"
        )
        #expect(balancer.stop() == 0, "log: \(balancer.log)")
    }

    // MARK: - Keepalive

    @Test(
        "an idle connection whose node misses one keepalive probe answer lives on: the user timeout covers every probe",
        .timeLimit(.minutes(1)), arguments: ["epoll", "io_uring"]
    )
    func lostKeepaliveProbe(engine: String) throws {
        let namespace = try NetworkNamespace(tag: "ka")
        defer { namespace.remove() }
        let echoPort = freePort()
        let node = try BalancerProcess(
            ["stand-in", "--host", namespace.address, "--name", "n1", "--port", "p2p=\(freePort())", "--echo-port", "\(echoPort)"],
            wrapper: namespace.wrapper
        )
        defer { node.stop() }
        try #require(node.waitUntilListening(host: namespace.address, port: echoPort), "stand-in; log: \(node.log)")
        // Keepalive after 1 s idle (probes 5 s apart), and a user timeout of 1.5 s, shorter than that: before
        // the user timeout was raised to cover the probes, the kernel reset the connection at the second probe
        // (6 s) because the first one (1 s) went unanswered.
        let listen = freePort()
        let balancer = try BalancerProcess([
            "run", "--listen", "127.0.0.1", "--workers", "1", "--engine", engine, "--no-health", "--admin", "off",
            "--node", "\(namespace.address):n1", "--service", "echo=\(listen):\(echoPort)",
            "--node-keepalive", "1", "--node-user-timeout", "1500",
        ])
        defer { balancer.stop() }
        try #require(balancer.waitUntilListening(port: listen), "log: \(balancer.log)")

        let client = try TestSocket(host: "127.0.0.1", port: listen, timeout: 5)
        try client.send("before")
        #expect(try client.receive(exactly: 6) == Array("before".utf8))
        let idleSince = monotonicSeconds()
        // Let the last acknowledgements through, then lose the node's answer to the first probe (at 1 s).
        usleep(300_000)
        try namespace.dropBareAcks(port: echoPort)
        usleep(UInt32(max(0, 3 - (monotonicSeconds() - idleSince)) * 1_000_000))
        let dropped = try namespace.droppedBareAcks()
        try namespace.passBareAcks()
        #expect(dropped >= 1, "the answer to a keepalive probe was dropped: \(dropped)")
        // Past the second probe (6 s), which is answered.
        usleep(UInt32(max(0, 8 - (monotonicSeconds() - idleSince)) * 1_000_000))
        switch Result(catching: { () throws -> [UInt8] in
            try client.send("after")
            return try client.receive(exactly: 5)
        }) {
        case .success(let bytes):
            #expect(bytes == Array("after".utf8), "echoed after the lost probe")
            print("\(engine): one keepalive probe answer lost (\(dropped) dropped), the idle connection lives on")
        case .failure(let error):
            Issue.record("the connection died after one lost keepalive probe: \(error)")
        }
        client.close()
        #expect(balancer.stop() == 0, "log: \(balancer.log)")
    }

    // MARK: - What the connection log says

    @Test(
        "a connection the balancer ends with its client's bytes unread (its node never answered the connect) is logged end=reset, as the client sees it",
        .timeLimit(.minutes(1)), arguments: ["epoll", "io_uring"]
    )
    func unreadBytesLoggedAsReset(engine: String) throws {
        let namespace = try NetworkNamespace(tag: "cut")
        defer { namespace.remove() }
        // The node's SYNs vanish: its connect stays pending, and the client's bytes stay unread meanwhile.
        try namespace.dropPackets()
        let listen = freePort()
        let balancer = try BalancerProcess([
            "run", "--listen", "127.0.0.1", "--workers", "1", "--engine", engine, "--no-health", "--admin", "off",
            "--log-connections", "--node", "\(namespace.address):n1", "--service", "s=\(listen):9000",
            "--connect-timeout", "20000", "--drain-timeout", "300",
        ])
        defer { balancer.stop() }
        try #require(balancer.waitUntilListening(port: listen), "log: \(balancer.log)")
        let client = try TestSocket(host: "127.0.0.1", port: listen, timeout: 5)
        try client.send("hello")
        usleep(300_000)
        // SIGTERM: the drain gives the connection 300 ms, then the stop ends it.
        kill(balancer.pid, SIGTERM)
        switch Result(catching: { try client.receive() }) {
        case .success(let bytes): Issue.record("the client got \(bytes.count) bytes and an end of stream, not a reset")
        case .failure(let error): #expect("\(error)".contains("reset"), "\(error)")
        }
        #expect(eventually(within: 10) { !balancer.isRunning }, "exits after the drain")
        let lines = balancer.log.split(separator: "\n").filter { $0.hasSuffix("[TesseraLB] connection") }
        // Two connections: the readiness check's (closed by its client without a byte) and this one.
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.filter { $0.contains("end=reset") }.count == 1, "the cut connection is logged as reset: \(lines)")
    }

    // MARK: - Slow answers

    /// Two stand-ins serving P2P behind an in-process balancer probing them with the given timing, once both
    /// have passed a probe.
    private func probedPair(
        intervalMs: Int, fastIntervalMs: Int, timeoutMs: Int, fall: Int
    ) throws -> (Harness, HealthChecker, StandInGroup) {
        let harness = try Harness(speaks: [.http(service: "p2p")]) { config in
            config.services[0].name = "p2p"
            config.health.enabled = true
            config.health.intervalMs = intervalMs
            config.health.fastIntervalMs = fastIntervalMs
            config.health.timeoutMs = timeoutMs
            config.health.fall = fall
        }
        do {
            let health = try #require(harness.balancer.health)
            try #require(eventually(within: 5) { health.report.allSatisfy { $0.lastGood != nil } }, "both probed good")
            return (harness, health, try #require(harness.group))
        } catch {
            harness.stop()
            throw error
        }
    }

    @Test("a node that answers more slowly than the probe timeout is marked down, reason timeout", .timeLimit(.minutes(1)))
    func slowerThanTimeout() throws {
        // The stand-in's slow mode answers after 2 s; the probe waits 800 ms.
        let (harness, health, group) = try probedPair(intervalMs: 500, fastIntervalMs: 200, timeoutMs: 800, fall: 2)
        defer { harness.stop() }
        let slowAt = monotonicSeconds()
        group.nodes[0].setMode(.slow)
        let down = eventually(within: 5) { !harness.balancer.nodes[0].isMarkedUp }
        let took = monotonicSeconds() - slowAt
        #expect(down, "n1 marked down")
        // The node's state flips before the probe report is written: wait for the report to say so too.
        var n1 = try #require(health.report.first { $0.target.node == 0 })
        _ = eventually(within: 2) {
            n1 = health.report.first { $0.target.node == 0 } ?? n1
            return !n1.isUp
        }
        #expect(n1.lastResult == .timeout, "last probe: \(String(describing: n1.lastResult))")
        #expect(!n1.isUp)
        // Two probes that each waited out 800 ms.
        #expect(took >= 1.5, "marked down after \(took) s")
        #expect(harness.balancer.nodes[1].isMarkedUp, "n2 stays up")
        // Stop probing before the stand-in is stopped: each probe it has read costs its worker 2 s.
        harness.balancer.stop()
    }

    @Test("a node that answers slowly but within the probe timeout stays up", .timeLimit(.minutes(1)))
    func slowWithinTimeout() throws {
        // Slow answers take 2 s; the probe waits 3.5 s, and probes 3 s apart, so that answers do not queue up
        // behind each other in the stand-in. fall 1: a single late answer would take the node out.
        let (harness, health, group) = try probedPair(intervalMs: 3_000, fastIntervalMs: 3_000, timeoutMs: 3_500, fall: 1)
        defer { harness.stop() }
        let node = harness.balancer.nodes[0]
        group.nodes[0].setMode(.slow)
        let slowSince = Date()
        // Only probes reach n1 in this test: each answer it serves is one probe.
        let answered = group.nodes[0].requestsServed
        var alwaysUp = true
        let probed = eventually(within: 15) {
            alwaysUp = alwaysUp && node.isMarkedUp
            return group.nodes[0].requestsServed >= answered + 3
        }
        #expect(probed, "three slow probes answered: \(group.nodes[0].requestsServed - answered)")
        #expect(alwaysUp && node.isMarkedUp, "n1 stayed up through slow answers")
        let n1 = try #require(health.report.first { $0.target.node == 0 })
        #expect(n1.lastResult == .healthy, "last probe: \(String(describing: n1.lastResult))")
        #expect((n1.lastGood ?? .distantPast) > slowSince, "a slow answer counted as good")
        // And the answers were slow: with the balancer stopped, one takes the stand-in's 2 s.
        harness.balancer.stop()
        let client = try TestSocket(host: group.hosts[0], port: group.ports[0], timeout: 5)
        let started = monotonicSeconds()
        let answer = try HTTPExchange.get("/upcheck", on: client, close: true)
        let took = monotonicSeconds() - started
        #expect(answer.body == "I'm up!" && took >= 1.9, "\(answer.status) \(answer.body) after \(took) s")
    }

    // MARK: - A port that is not HTTP

    /// A loopback server that answers the probe, but not in HTTP.
    enum NotHTTP: String, CaseIterable, CustomTestStringConvertible {
        /// The stand-in's echo port: the probe reads its own request back.
        case echo
        /// An SSH-like server that greets first.
        case banner

        var testDescription: String { rawValue }
    }

    @Test(
        "a probe port that answers something other than HTTP is logged as such, not as a parser state",
        .timeLimit(.minutes(1)), arguments: NotHTTP.allCases
    )
    func notHTTP(peer: NotHTTP) throws {
        let node = try StandInNode(name: "n1", ports: [.init(0, .http(service: "p2p")), .init(0, .echo)])
        defer { node.stop() }
        let banner = try GreetingServer(greeting: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
        defer { banner.stop() }
        let healthPort = peer == .echo ? node.boundPorts[1] : banner.port
        let listen = freePort()
        let balancer = try BalancerProcess([
            "run", "--listen", "127.0.0.1", "--workers", "1", "--node", "127.0.0.1:n1",
            "--service", "p2p=\(listen):\(node.boundPorts[0])", "--health-port", "\(healthPort)",
            "--health-interval", "200", "--admin", "off", "--log-format", "json",
        ])
        defer { balancer.stop() }
        var down: BalancerLogLine?
        let logged = eventually(within: 10) {
            down = BalancerLogLine.all(in: balancer.log).first { $0.message == "node down" && $0["node"] == "n1" }
            return down != nil
        }
        try #require(logged, "n1 marked down; log: \(balancer.log)")
        let reason = try #require(down)["reason"] ?? ""
        switch peer {
        case .echo:
            #expect(reason.hasPrefix("not an HTTP response"), "reason: \(reason)")
        case .banner:
            // The greeting races the request: after it, the parser fails on the answer; before it, the client
            // closes the idle connection on the unexpected bytes, and the request finds it closed.
            #expect(
                reason.hasPrefix("not an HTTP response") || reason.hasPrefix("closed before the request was sent"),
                "reason: \(reason)"
            )
        }
        #expect(reason.contains("--health-port"), "the reason names the setting to check: \(reason)")
        print("probe port speaking \(peer.rawValue), not HTTP: logged reason \"\(reason)\"")
        #expect(balancer.stop() == 0, "log: \(balancer.log)")
    }
}

// MARK: - Helpers

/// `GET /status` from a balancer process's admin listener.
private func status(_ adminPort: Int) throws -> StatusReport {
    let socket = try TestSocket(host: "127.0.0.1", port: adminPort, timeout: 2)
    let answer = try HTTPExchange.get("/status", on: socket, host: "127.0.0.1:\(adminPort)", close: true)
    return try StatusReport.decoder().decode(StatusReport.self, from: Data(answer.body.utf8))
}

/// One line of `tessera-lb run --log-format json`.
private struct BalancerLogLine {
    let time: Date
    let message: String
    let fields: [String: String]

    subscript(key: String) -> String? { fields[key] }

    /// The JSON lines of a process's output, in order; other lines are left out.
    static func all(in log: String) -> [BalancerLogLine] {
        let dates = ISO8601DateFormatter()
        dates.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return log.split(separator: "\n").compactMap { text in
            guard text.hasPrefix("{"),
                let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                let message = object["message"] as? String,
                let time = (object["time"] as? String).flatMap(dates.date(from:))
            else { return nil }
            let metadata = (object["metadata"] as? [String: Any]) ?? [:]
            return BalancerLogLine(time: time, message: message, fields: metadata.compactMapValues { $0 as? String })
        }
    }
}
