import LBHealth
import Foundation
import LBBalancing
import LBConfig
import LBForwarding
import LBStandIn
import LBTestSupport
import Synchronization
import Testing
import TesseraLB

/// Active health under load: each fault takes the node out within interval x fall + timeout, clients see no
/// failure after that, and the node comes back after rise good probes.
@Suite("failover under load", .serialized)
struct FailoverTests {
    static let intervalMs = 200
    static let timeoutMs = 300
    static let fall = 2
    /// interval x fall + timeout, and slack for a loaded 2-core machine.
    static let detectWithin = Double(intervalMs * fall + timeoutMs) / 1000 + 1.0

    /// Two stand-ins serving P2P (probed) and Q2T (loaded), behind a balancer probing fast.
    private func harness(_ path: DataPath, onMarkedDown: BalancerConfig.Health.OnMarkedDown = .shutdownSessions) throws -> Harness {
        try Harness(speaks: [.http(service: "p2p"), .http(service: "q2t")], path: path) { config in
            config.services[0].name = "p2p"
            config.services[1].name = "q2t"
            config.health.enabled = true
            config.health.intervalMs = Self.intervalMs
            config.health.fastIntervalMs = 100
            config.health.timeoutMs = Self.timeoutMs
            config.health.fall = Self.fall
            config.health.rise = 2
            config.health.onMarkedDown = onMarkedDown
        }
    }

    @Test("a failed node is taken out in time, then clients see no failure, and it comes back", .timeLimit(.minutes(1)),
          arguments: allEngines, [StandInMode.refuse, .hang, .fail, .wrongbody, .reset])
    func failover(path: DataPath, fault: StandInMode) throws {
        let harness = try harness(path)
        defer { harness.stop() }
        let n1 = harness.balancer.nodes[0]
        let load = LoadClients(port: harness.port(1), clients: 4, timeout: 1)
        defer { load.stop() }
        #expect(eventually(within: 5) { Set(load.all.compactMap(\.node)) == ["n1", "n2"] }, "both nodes serve at first")
        // Steady state: every node has passed a probe (not the start-up state, where one failure is enough).
        #expect(
            eventually(within: 5) { harness.balancer.health!.report.allSatisfy { $0.lastGood != nil } },
            "every node probed good: \(harness.balancer.health!.report.map { "\($0.target): \(String(describing: $0.lastResult))" })"
        )

        let faultAt = load.elapsed
        harness.group!.nodes[0].setMode(fault)
        var detectedAt = 0.0
        let detected = eventually(within: 5) {
            detectedAt = load.elapsed
            return !n1.isMarkedUp
        }
        #expect(detected, "n1 marked down")
        let detection = detectedAt - faultAt
        #expect(detection <= Self.detectWithin, "\(fault): detected after \(detection) s")

        // Requests started after detection (and the workers' reaction to it) all succeed, on n2.
        let settled = detectedAt + 0.25
        _ = eventually(within: 10) { load.elapsed > settled + 1.5 }
        let after = load.between(settled)
        #expect(after.count > 10, "load kept going: \(after.count) requests")
        let failures = after.filter { $0.node == nil }
        #expect(failures.isEmpty, "\(fault): \(failures.count) failed after detection, e.g. \(failures.first?.failure ?? "")")
        #expect(after.allSatisfy { $0.node == nil || $0.node == "n2" }, "only n2 answers while n1 is down")
        let before = load.between(faultAt, settled).filter { $0.node == nil }.count
        print("failover \(fault): detected in \(String(format: "%.2f", detection)) s; \(before) client requests failed before it, 0 after")

        harness.group!.nodes[0].setMode(.up)
        #expect(eventually(within: 5) { n1.isMarkedUp }, "n1 back after rise good probes")
        let back = load.elapsed
        #expect(eventually(within: 5) { load.between(back).contains { $0.node == "n1" } }, "n1 answers again")
    }

    @Test("connections held open to a node marked down are closed (shutdown-sessions)", .timeLimit(.minutes(1)), arguments: allEngines)
    func heldConnectionsClosed(path: DataPath) throws {
        let harness = try harness(path)
        defer { harness.stop() }
        var toN1: [TestSocket] = []
        for _ in 0..<20 {
            let client = try harness.connect(1)
            if try HTTPExchange.get("/send", on: client).node == "n1" { toN1.append(client) }
        }
        try #require(!toN1.isEmpty)
        harness.group!.nodes[0].setMode(.hang)
        #expect(eventually(within: 5) { !harness.balancer.nodes[0].isMarkedUp })
        for client in toN1 {
            let end = (try? client.receive()) ?? []
            #expect(end.isEmpty, "the balancer closed the held connection")
        }
    }

    @Test("with keep, connections held open to a node marked down stay open", .timeLimit(.minutes(1)), arguments: allEngines)
    func heldConnectionsKept(path: DataPath) throws {
        let harness = try harness(path, onMarkedDown: .keep)
        defer { harness.stop() }
        var toN1: [TestSocket] = []
        for _ in 0..<20 {
            let client = try harness.connect(1)
            if try HTTPExchange.get("/send", on: client).node == "n1" { toN1.append(client) }
        }
        try #require(!toN1.isEmpty)
        harness.group!.nodes[0].setMode(.fail)
        #expect(eventually(within: 5) { !harness.balancer.nodes[0].isMarkedUp })
        for client in toN1 {
            #expect(try HTTPExchange.get("/send", on: client).status == 500, "still connected to n1, which answers 500")
        }
        let fresh = try harness.connect(1)
        #expect(try HTTPExchange.get("/send", on: fresh).node == "n2", "new connections go to n2")
    }

    @Test("probes go on while every thread of Swift's cooperative pool is blocked elsewhere", .timeLimit(.minutes(1)))
    func probesDoNotWaitForTheCooperativePool() throws {
        let harness = try harness(DataPath(.epoll))
        defer { harness.stop() }
        let n1 = harness.balancer.nodes[0]
        #expect(eventually(within: 5) { harness.balancer.health!.report.allSatisfy { $0.lastGood != nil } }, "probed good")
        // Every cooperative thread blocked for 3 s (as blocking work on the pool would), then the fault.
        let width = ProcessInfo.processInfo.activeProcessorCount + 1
        let blockers = (0..<width).map { _ in Task.detached { usleep(3_000_000) } }
        _ = blockers
        usleep(200_000)
        harness.group!.nodes[0].setMode(.refuse)
        let faultAt = monotonicSeconds()
        #expect(eventually(within: 5) { !n1.isMarkedUp }, "n1 marked down")
        let detection = monotonicSeconds() - faultAt
        #expect(detection < 2.5, "marked down \(detection) s after the fault, before the pool was free again")
        harness.group!.nodes[0].setMode(.up)
    }

    @Test("health scope service: a failing Q2T port takes the node out of Q2T only", .timeLimit(.minutes(1)))
    func perServiceScope() throws {
        // n1's Q2T port answers 500 while its P2P port is fine: separate stand-ins on the two ports of one host.
        let p2p = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        let q2t = try StandInGroup(count: 2, speaks: [.http(service: "q2t")])
        defer { p2p.stop(); q2t.stop() }
        let harness = try Harness(hosts: p2p.hosts, nodePorts: [p2p.ports[0], q2t.ports[0]]) { config in
            config.services[0].name = "p2p"
            config.services[1].name = "q2t"
            config.health.enabled = true
            config.health.scope = .service
            config.health.intervalMs = Self.intervalMs
            config.health.timeoutMs = Self.timeoutMs
        }
        defer { harness.stop() }
        q2t.nodes[0].setMode(.fail)
        let n1 = harness.balancer.nodes[0]
        #expect(eventually(within: 5) { n1.isServiceDown(1) }, "n1 out of q2t")
        #expect(n1.isMarkedUp && !n1.isServiceDown(0), "n1 still in p2p")
        for _ in 0..<10 {
            let q = try harness.connect(1)
            #expect(try HTTPExchange.get("/send", on: q, close: true).node == "n2")
        }
        var p2pNodes = Set<String>()
        for _ in 0..<10 {
            let p = try harness.connect(0)
            p2pNodes.insert(try HTTPExchange.get("/push", on: p, close: true).node ?? "?")
        }
        #expect(p2pNodes == ["n1", "n2"])
    }
}
