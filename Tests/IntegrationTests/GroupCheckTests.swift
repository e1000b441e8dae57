import Foundation
import LBAdminServer
import LBGroup
import LBStandIn
import LBTestSupport
import Testing

/// The group check on a real `tessera-lb run` over three stand-ins: drift shows in /status, /metrics and the log
/// within the check interval and leaves when fixed; the hold-out policy keeps new connections from a node whose
/// keys the majority does not share.
@Suite("the group check: keys, version and partyinfo drift", .serialized)
struct GroupCheckTests {
    static let speaks: [StandInProtocol] = [.http(service: "p2p"), .http(service: "thirdparty"), .http(service: "q2t")]
    static let otherKey = "T1RIRVJLRVlPVEhFUktFWU9USEVSS0VZT1RIRVJLRVk="

    /// A balancer process over `group` with the check every 200 ms; its admin listener and Q2T listen port.
    struct Running {
        let process: BalancerProcess
        let admin: Int
        let q2t: Int

        func get(_ path: String) throws -> HTTPExchange {
            try HTTPExchange.get(path, on: TestSocket(host: "127.0.0.1", port: admin), close: true)
        }

        func status() throws -> StatusReport {
            let answer = try get("/status")
            try #require(answer.status == 200)
            return try StatusReport.decoder().decode(StatusReport.self, from: Data(answer.body.utf8))
        }

        func metric(_ series: String) throws -> Double? {
            let body = try get("/metrics").body
            return body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
    }

    func start(_ group: StandInGroup, policy: String = "report") throws -> Running {
        let listen = group.ports.map { _ in freePort() }
        let admin = freePort()
        var arguments = [
            "run", "--listen", "127.0.0.1", "--workers", "1", "--admin", "127.0.0.1:\(admin)", "--log-format", "json",
            "--group-check-interval", "200", "--group-policy", policy, "--health-interval", "200",
        ]
        for (n, host) in group.hosts.enumerated() { arguments += ["--node", "\(host):n\(n + 1)"] }
        for (k, name) in ["p2p", "thirdparty", "q2t"].enumerated() { arguments += ["--service", "\(name)=\(listen[k]):\(group.ports[k])"] }
        let process = try BalancerProcess(arguments)
        try #require(process.waitUntilListening(port: admin), "\(process.log)")
        return Running(process: process, admin: admin, q2t: listen[2])
    }

    @Test("a node whose keys differ shows in /status, /metrics and the log within the interval, and leaves when fixed")
    func keysDrift() throws {
        let group = try StandInGroup(count: 3, speaks: Self.speaks)
        defer { group.stop() }
        let balancer = try start(group)
        defer { balancer.process.stop() }
        #expect(eventually(within: 5) { (try? balancer.status().group.checkedAt) != nil }, "checked at start")
        var status = try balancer.status()
        #expect(status.group.enabled && status.group.consistent && status.group.problems.isEmpty, "\(status.group)")
        #expect(try balancer.metric("tessera_lb_group_consistent") == 1)

        group.nodes[1].tessera.ownKeys = [Self.otherKey]
        let seen = eventually(within: 3) { (try? balancer.status().group.problems.map(\.node)) == ["n2"] }
        status = try balancer.status()
        #expect(seen, "\(status.group)")
        #expect(status.group.problems.first?.problem == .keys)
        #expect(!status.group.consistent)
        #expect(try balancer.metric("tessera_lb_group_consistent") == 0)
        #expect(try balancer.metric(#"tessera_lb_group_problem{node="n2",problem="keys"}"#) == 1)
        #expect(try balancer.get("/").body.contains("differ from the majority"), "the status page shows it")
        #expect(status.nodes[1].state == .up, "report only: n2 still takes connections")
        let logged = eventually(within: 2) {
            balancer.process.log.contains(#""message":"group inconsistent""#) && balancer.process.log.contains(#""node":"n2""#)
        }
        #expect(logged, "\(balancer.process.log)")

        group.nodes[1].tessera.ownKeys = TesseraModel.defaultKeys
        #expect(eventually(within: 3) { (try? balancer.status().group.consistent) == true })
        #expect(eventually(within: 2) { balancer.process.log.contains("group consistent again") })
    }

    @Test("a node of another version, and partyinfo one node lacks, are reported too")
    func versionAndPartyinfo() throws {
        let group = try StandInGroup(count: 3, speaks: Self.speaks)
        defer { group.stop() }
        group.nodes[2].tessera.version = "23.4.0"
        // A peer's partyinfo reached n1 only (what happens behind a balancer without mirroring).
        let remote = "UkVNT1RFUkVNT1RFUkVNT1RFUkVNT1RFUkVNT1RFUkU="
        let info = PartyInfoCodec.encode(.init(url: "http://10.9.9.9:9000", recipients: [(remote, "http://10.9.9.9:9000")], parties: []))
        let sent = try HTTPExchange.post(
            "/partyinfo", body: info, contentType: "application/octet-stream", on: TestSocket(host: group.hosts[0], port: group.ports[0])
        )
        #expect(sent.status == 200)
        let balancer = try start(group)
        defer { balancer.process.stop() }
        #expect(eventually(within: 5) { (try? balancer.status().group.problems.count) == 3 })
        let problems = try balancer.status().group.problems
        #expect(problems.contains { $0.node == "n3" && $0.problem == .version && $0.detail.contains("23.4.0") }, "\(problems)")
        #expect(problems.filter { $0.problem == .partyinfo }.map(\.node) == ["n2", "n3"], "\(problems)")
    }

    @Test("hold-out: the outvoted node takes no new connections until its keys agree; with two nodes, report only")
    func holdOut() throws {
        let group = try StandInGroup(count: 3, speaks: Self.speaks)
        defer { group.stop() }
        let balancer = try start(group, policy: "hold-out")
        defer { balancer.process.stop() }
        #expect(eventually(within: 5) { (try? balancer.status().group.checkedAt) != nil })
        group.nodes[1].tessera.ownKeys = [Self.otherKey]
        #expect(eventually(within: 3) { (try? balancer.status().nodes[1].state) == .heldOut }, "\(balancer.process.log)")
        #expect(try balancer.status().group.heldOut == ["n2"])
        var answered: Set<String> = []
        for _ in 0..<30 {
            if let node = try HTTPExchange.get("/send", on: TestSocket(host: "127.0.0.1", port: balancer.q2t), close: true).node {
                answered.insert(node)
            }
        }
        #expect(answered == ["n1", "n3"], "no new connection to the held-out node")
        group.nodes[1].tessera.ownKeys = TesseraModel.defaultKeys
        #expect(eventually(within: 3) { (try? balancer.status().nodes[1].state) == .up })

        let pair = try StandInGroup(count: 2, speaks: Self.speaks, firstHost: 5)
        defer { pair.stop() }
        let two = try start(pair, policy: "hold-out")
        defer { two.process.stop() }
        pair.nodes[1].tessera.ownKeys = [Self.otherKey]
        #expect(eventually(within: 5) { (try? two.status().group.problems.count) == 2 }, "both reported, no majority")
        #expect(try two.status().group.heldOut.isEmpty && two.status().nodes.allSatisfy { $0.state == .up })
    }
}
