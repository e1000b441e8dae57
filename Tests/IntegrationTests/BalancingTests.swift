import LBForwarding
import Synchronization
import TesseraLB
import LBBalancing
import Foundation
import LBConfig
import LBStandIn
import LBSystem
import LBTestSupport
import Testing

/// Spreading connections over nodes, and what happens when nodes fail.
@Suite("balancing and failover", .serialized)
struct BalancingTests {
    @Test("2,000 concurrent connections spread evenly over two nodes", .timeLimit(.minutes(2)), arguments: allEngines, [BalanceAlgorithm.roundrobin, .leastconn])
    func spreadsConcurrentConnections(path: DataPath, balance: BalanceAlgorithm) throws {
        let harness = try Harness(speaks: [.http(service: "q2t")], path: path, configure: { $0.balance = balance })
        defer { harness.stop() }
        var clients: [TestSocket] = []
        for _ in 0..<2_000 { clients.append(try harness.connect()) }
        var answeredBy: [String: Int] = [:]
        for client in clients {
            let reply = try HTTPExchange.get("/send", on: client)
            answeredBy[reply.node ?? "?", default: 0] += 1
        }
        #expect(harness.balancer.openConnections == 2_000, "all 2,000 are open at once")
        #expect(answeredBy.values.reduce(0, +) == 2_000)
        for name in ["n1", "n2"] {
            let share = answeredBy[name, default: 0]
            #expect((900...1100).contains(share), "\(name) answered \(share) of 2,000: \(answeredBy)")
        }
    }

    @Test("a node that refuses connections is skipped and no client sees an error", .timeLimit(.minutes(1)), arguments: allModes)
    func refusingNodeIsSkipped(path: DataPath) throws {
        let harness = try Harness(speaks: [.http(service: "q2t")], path: path, configure: { $0.maxFails = 1000 })
        defer { harness.stop() }
        harness.group!.nodes[0].setMode(.refuse)
        for _ in 0..<50 {
            let client = try harness.connect()
            let reply = try HTTPExchange.get("/send", on: client, close: true)
            #expect(reply.status == 200)
            #expect(reply.node == "n2")
        }
        let failures = harness.counters.reduce(0) { $0 + $1.connectFailures.load(ordering: .relaxed) }
        #expect(failures > 0, "the refused connects were tried and counted")
    }

    @Test("max_fails refused connects take a node out for fail_timeout", .timeLimit(.minutes(1)), arguments: allEngines)
    func passiveHealthTakesNodeOut(path: DataPath) throws {
        let harness = try Harness(speaks: [.http(service: "q2t")], path: path, workers: 1, configure: {
            $0.maxFails = 3
            $0.failTimeoutMs = 60_000
        })
        defer { harness.stop() }
        harness.group!.nodes[0].setMode(.refuse)
        for _ in 0..<10 {
            let client = try harness.connect()
            #expect(try HTTPExchange.get("/", on: client, close: true).node == "n2")
        }
        let n1 = harness.balancer.nodes[0]
        #expect(n1.isFailedOut(now: MonotonicClock.nowMilliseconds()), "n1 is out after 3 failures")
        #expect(n1.connectFailures.load(ordering: .relaxed) == 3, "once out, n1 is not tried again")
    }

    @Test("with every node down, clients are closed promptly", .timeLimit(.minutes(1)), arguments: allModes)
    func allNodesDown(path: DataPath) throws {
        let harness = try Harness(speaks: [.http(service: "q2t")], path: path)
        defer { harness.stop() }
        for node in harness.group!.nodes { node.setMode(.refuse) }
        for _ in 0..<5 {
            let started = monotonicSeconds()
            let client = try harness.connect(timeout: 5)
            try? client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = (try? client.receiveAll()) ?? []
            #expect(answer.isEmpty, "no bytes from nowhere")
            let sum = { (count: (WorkerCounters) -> Int) in harness.counters.reduce(0) { $0 + count($1) } }
            #expect(
                monotonicSeconds() - started < 1,
                """
                closed within a second (then: \(harness.balancer.openConnections) open, \
                \(sum { $0.noNode.load(ordering: .relaxed) }) with no node, \
                \(sum { $0.connectFailures.load(ordering: .relaxed) }) connect failures, \
                \(sum { $0.staleEvents.load(ordering: .relaxed) }) stale events)
                """
            )
        }
        let noNode = harness.counters.reduce(0) { $0 + $1.noNode.load(ordering: .relaxed) }
        #expect(noNode == 5)
    }

    @Test("a connect that times out is retried on the next node with the client's early bytes intact", .timeLimit(.minutes(1)), arguments: allModes)
    func connectTimeoutRetriesNextNode(path: DataPath) throws {
        let good = try StandInNode(name: "n2", host: "127.0.0.3", ports: [.init(0, .http(service: "q2t"))])
        defer { good.stop() }
        let port = good.boundPorts[0]
        // A node that never answers SYNs: a listener whose accept queue (backlog 0) is already full.
        let blackhole = try RawListener(host: "127.0.0.2", port: port, backlog: 0)
        let fillers = (0..<3).map { _ in try? TestSocket(host: "127.0.0.2", port: port, timeout: 0.3) }
        defer { _ = fillers }
        let harness = try Harness(hosts: ["127.0.0.2", "127.0.0.3"], nodePorts: [port], path: path, workers: 1, configure: {
            $0.connectTimeoutMs = 300
        })
        defer { harness.stop() }
        let client = try harness.connect()
        // The request is sent before the balancer has any node connection: it must not be lost.
        let reply = try HTTPExchange.get("/send", on: client)
        #expect(reply.status == 200)
        #expect(reply.node == "n2")
        _ = blackhole
        let retries = harness.counters.reduce(0) { $0 + $1.retries.load(ordering: .relaxed) }
        #expect(retries >= 1)
    }

    @Test("after the balancer sat idle for longer than the connect timeout, the next client is served", .timeLimit(.minutes(1)), arguments: allModes)
    func firstConnectionAfterIdle(path: DataPath) throws {
        // An idle worker sleeps in its wait with no deadline; the connection that wakes it must get a connect
        // deadline counted from its arrival, not from before the sleep.
        let harness = try Harness(nodes: 1, speaks: [.http(service: "q2t")], path: path, workers: 1, configure: {
            $0.connectTimeoutMs = 300
        })
        defer { harness.stop() }
        for round in 0..<2 {
            usleep(700_000)
            let client = try harness.connect()
            let reply = try HTTPExchange.get("/upcheck", on: client, close: true)
            #expect(reply.body == "I'm up!", "round \(round): the first connection after 0.7 s idle")
        }
        let failures = harness.counters.reduce(0) { $0 + $1.connectFailures.load(ordering: .relaxed) }
        #expect(failures == 0, "no connect counted as failed")
    }

    @Test("after a refused connect the node's socket is not polled again (no busy loop)", .timeLimit(.minutes(1)), arguments: allEngines)
    func noBusyLoopAfterError(path: DataPath) throws {
        let harness = try Harness(speaks: [.http(service: "q2t")], path: path, configure: { $0.maxFails = 1000 })
        defer { harness.stop() }
        harness.group!.nodes[0].setMode(.refuse)
        var clients: [TestSocket] = []
        for _ in 0..<20 {
            let client = try harness.connect()
            _ = try HTTPExchange.get("/", on: client)
            clients.append(client)  // kept open: their connections stay in the balancer
        }
        let events = { harness.counters.reduce(0) { $0 + $1.events.load(ordering: .relaxed) } }
        let before = events()
        usleep(300_000)
        #expect(events() - before < 10, "idle connections produce no events")
    }

    @Test("with --max-conns, at most that many are served at once and the rest as connections close", .timeLimit(.minutes(1)), arguments: allEngines)
    func connectionLimit(path: DataPath) throws {
        let harness = try Harness(speaks: [.echo], path: path, configure: { $0.maxConnections = 10 })
        defer { harness.stop() }
        var clients: [TestSocket] = []
        for k in 0..<20 {
            let client = try TestSocket(host: "127.0.0.1", port: harness.port(), timeout: 0.05)
            try client.send([UInt8(k)])
            clients.append(client)
        }
        /// Reads each client's echo if it came; true for those answered.
        func collect(_ answered: inout [Bool]) {
            for (k, client) in clients.enumerated() where !answered[k] {
                if let byte = try? client.receive(max: 1), byte == [UInt8(k)] { answered[k] = true }
            }
        }
        var answered = Array(repeating: false, count: 20)
        _ = eventually(within: 5) {
            collect(&answered)
            return answered.filter { $0 }.count >= 10
        }
        collect(&answered)  // one more pass: nothing beyond the limit may answer
        #expect(answered.filter { $0 }.count == 10, "exactly 10 served at once: \(answered)")
        #expect(harness.balancer.openConnections == 10)
        for (k, client) in clients.enumerated() where answered[k] { client.close() }
        let waiting = answered
        #expect(eventually(within: 5) {
            collect(&answered)
            return answered.allSatisfy { $0 }
        }, "the 10 that waited are served once the first 10 closed: \(zip(waiting, answered).map { $0 ? "-" : ($1 ? "1" : "0") })")
    }

    @Test("with --max-conns, workers that accept at the same moment never take more than the limit between them", .timeLimit(.minutes(1)), arguments: allEngines)
    func connectionLimitAcrossWorkers(path: DataPath) throws {
        let limit = 4
        let harness = try Harness(speaks: [.echo], path: path, workers: 4, configure: { $0.maxConnections = limit })
        defer { harness.stop() }
        for round in 0..<3 {
            // 32 clients from four threads at once, so that every worker's listener has clients at the same time.
            let clients = Mutex<[TestSocket]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                for _ in 0..<8 {
                    if let client = try? TestSocket(host: "127.0.0.1", port: harness.port(), timeout: 0.01) {
                        try? client.send("a")
                        clients.withLock { $0.append(client) }
                    }
                }
            }
            let all = clients.withLock { $0 }
            #expect(all.count == 32)
            var answered = Array(repeating: false, count: all.count)
            func collect() {
                for (k, client) in all.enumerated() where !answered[k] {
                    if let byte = try? client.receive(max: 1), byte == Array("a".utf8) { answered[k] = true }
                }
            }
            _ = eventually(within: 5) {
                collect()
                return answered.filter { $0 }.count >= limit
            }
            usleep(100_000)
            collect()
            #expect(answered.filter { $0 }.count == limit, "round \(round): \(answered.filter { $0 }.count) served at once, limit \(limit)")
            #expect(harness.balancer.openConnections <= limit)
            for client in all { client.close() }
            #expect(eventually(within: 5) { harness.balancer.openConnections == 0 }, "round \(round): every connection ends")
        }
    }
}
