import Foundation
import Glibc
import LBStandIn
import LBTestSupport
import Synchronization
import Testing

/// `tessera-lb run` under a low nofile limit (`prlimit` as a wrapper): what it does when descriptors run out.
@Suite("the balancer under a low nofile limit", .serialized)
struct DescriptorLimitTests {
    private func start(
        _ group: StandInGroup, port: Int, nofile: String, withOtherThreads: Bool = false, extra: [String] = []
    ) throws -> BalancerProcess {
        // By default nothing else in the process opens descriptors (no probes, no admin listener, no group
        // check), so that the worker alone meets the limit; `withOtherThreads` leaves those to the caller.
        var arguments = ["run", "--listen", "127.0.0.1", "--workers", "1"]
        if !withOtherThreads { arguments += ["--no-health", "--admin", "off", "--group-check-interval", "0"] }
        arguments += ["--service", "p2p=\(port):\(group.ports[0])"]
        for host in group.hosts { arguments += ["--node", host] }
        let balancer = try BalancerProcess(arguments + extra, wrapper: ["/usr/bin/prlimit", "--nofile=\(nofile)", "--"])
        #expect(balancer.waitUntilListening(port: port), "listening; log: \(balancer.log)")
        return balancer
    }

    /// What a client has seen so far, without waiting.
    private enum Seen: Equatable {
        case answer
        case closedEmpty
        case nothingYet
    }

    /// `count` kept-alive clients, each with a request sent.
    private func openClients(_ count: Int, port: Int) throws -> [TestSocket] {
        try (0..<count).map { _ in
            let client = try TestSocket(host: "127.0.0.1", port: port, timeout: 5)
            try client.send("GET / HTTP/1.1\r\nHost: tessera\r\n\r\n")
            return client
        }
    }

    /// What each client has seen once nothing changes any more: those served have their answer, the others
    /// wait (or were dropped).
    private func settled(_ clients: [TestSocket], within seconds: Double) -> [Seen] {
        var seen: [Seen] = []
        _ = eventually(within: seconds) {
            let now = clients.map(peek)
            defer { seen = now }
            return now == seen && now.contains(.answer)
        }
        return seen
    }

    private func peek(_ client: TestSocket) -> Seen {
        var byte: UInt8 = 0
        let n = recv(client.fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        if n > 0 { return .answer }
        if n == 0 { return .closedEmpty }
        return errno == EAGAIN || errno == EWOULDBLOCK ? .nothingYet : .closedEmpty
    }

    @Test(
        "more clients than descriptors: each is served or waits to be accepted, none is accepted and then dropped",
        .timeLimit(.minutes(1)), arguments: allEngines
    )
    func clientsWaitForDescriptors(path: DataPath) throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        let balancer = try start(group, port: port, nofile: "64:64", extra: path.flags)
        // Each kept-alive client holds two of the balancer's descriptors: 64 cannot hold 60 of them.
        let clients = try openClients(60, port: port)
        defer { clients.forEach { $0.close() } }
        let seen = settled(clients, within: 3)
        let served = clients.indices.filter { seen[$0] == .answer }
        #expect(!seen.contains(.closedEmpty), "\(seen.filter { $0 == .closedEmpty }.count) clients closed without a byte; log: \(balancer.log)")
        #expect(served.count > 0 && served.count < clients.count, "\(served.count) of \(clients.count) served")
        for k in served {
            #expect((try? HTTPExchange.read(from: clients[k]))?.status == 200)
        }
        #expect(balancer.log.contains("no descriptor left for a client and its node socket"), "the log says why clients wait: \(balancer.log)")
        // Descriptors free up: those waiting are served in turn.
        for k in served { clients[k].close() }
        var answered = 0
        for k in clients.indices where !served.contains(k) {
            if let answer = try? HTTPExchange.read(from: clients[k]), answer.status == 200 { answered += 1 }
            clients[k].close()
        }
        #expect(answered == clients.count - served.count, "every waiting client is served once others close; log: \(balancer.log)")
        #expect(balancer.stop() == 0)
    }

    @Test(
        "other threads open descriptors meanwhile (probes, the group check, admin requests): still no client is accepted and then dropped",
        .timeLimit(.minutes(2)), arguments: allEngines
    )
    func reserveHoldsAgainstOtherThreads(path: DataPath) throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        let adminPort = freePort()
        // Probes every 20 ms to both nodes and a group check every 50 ms take and free descriptors on their own
        // threads all the time; a fall of 100 keeps the nodes up while the probes fail for want of one.
        let balancer = try start(
            group, port: port, nofile: "64:64", withOtherThreads: true,
            extra: path.flags + [
                "--health-interval", "20", "--health-timeout", "200", "--health-fall", "100", "--health-initial", "up",
                "--group-check-interval", "50", "--admin", "127.0.0.1:\(adminPort)",
            ]
        )
        // The admin listener's thread takes descriptors too: a client that connects and closes, over and over.
        let stopAdmin = Atomic<Bool>(false)
        let adminThread = Thread {
            while !stopAdmin.load(ordering: .relaxed) {
                if let s = try? TestSocket(host: "127.0.0.1", port: adminPort, timeout: 1) { s.close() }
                usleep(500)
            }
        }
        adminThread.start()
        defer { stopAdmin.store(true, ordering: .relaxed) }
        for round in 0..<4 {
            let clients = try openClients(60, port: port)
            let seen = settled(clients, within: 2)
            let dropped = seen.filter { $0 == .closedEmpty }.count
            #expect(dropped == 0, "round \(round): \(dropped) clients closed without a byte; log: \(balancer.log)")
            // Everyone is served once the others close.
            var answered = 0
            for client in clients {
                if let answer = try? HTTPExchange.read(from: client), answer.status == 200 { answered += 1 }
                client.close()
            }
            #expect(answered == clients.count, "round \(round): \(answered) of \(clients.count) answered; log: \(balancer.log)")
        }
        stopAdmin.store(true, ordering: .relaxed)
        #expect(balancer.stop() == 0)
    }

    @Test(
        "SIGTERM with every descriptor taken by clients: the accept grace, the drain and the stop need none, and it exits 0",
        .timeLimit(.minutes(1)), arguments: allEngines
    )
    func stopsWithoutDescriptors(path: DataPath) throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        let balancer = try start(
            group, port: port, nofile: "64:64", extra: path.flags + ["--accept-grace", "300", "--drain-timeout", "1000"]
        )
        let clients = try openClients(60, port: port)
        defer { clients.forEach { $0.close() } }
        #expect(eventually { balancer.log.contains("no descriptor left for a client and its node socket") }, "\(balancer.log)")
        // Settled: those served have their answer, the others wait for a descriptor.
        let seen = settled(clients, within: 3)
        #expect(seen.contains(.nothingYet), "some clients wait: every descriptor is taken")
        // Kept alive, the served clients hold their descriptors through the drain, which then times out.
        kill(balancer.pid, SIGTERM)
        try #require(eventually(within: 10) { !balancer.isRunning }, "stopped within the grace and drain timeout; log: \(balancer.log)")
        #expect(balancer.process.terminationStatus == 0, "\(balancer.log)")
        #expect(balancer.log.contains("drain timeout: closing the connections still open"), "\(balancer.log)")
        #expect(balancer.log.contains("stopped"))
    }

    @Test("at start the soft limit is raised to the hard one, and --max-conns beyond it is warned about", .timeLimit(.minutes(1)))
    func startupLimit() throws {
        let group = try StandInGroup(count: 1, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let warning = "--max-conns needs more descriptors than the nofile limit allows"
        let raised = try start(group, port: freePort(), nofile: "256:2048", extra: ["--max-conns", "200", "--forward", "splice"])
        let limits = (try? String(contentsOfFile: "/proc/\(raised.pid)/limits", encoding: .utf8)) ?? ""
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }.map(String.init) ?? ""
        #expect(line.split(separator: " ").filter { !$0.isEmpty }.dropFirst(3).prefix(2) == ["2048", "2048"], "\(line)")
        #expect(!raised.log.contains(warning), "200 connections fit 2048 descriptors: \(raised.log)")
        #expect(raised.stop() == 0)
        let short = try start(group, port: freePort(), nofile: "256:256", extra: ["--max-conns", "1000", "--forward", "copy"])
        #expect(eventually { short.log.contains(warning) }, "\(short.log)")
        #expect(short.log.contains("about 96 connections"), "(256 - 64) / 2: \(short.log)")
        #expect(short.stop() == 0)
    }
}
