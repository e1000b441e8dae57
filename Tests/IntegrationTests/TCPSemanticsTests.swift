import LBForwarding
import Synchronization
import TesseraLB
import Foundation
import LBConfig
import LBStandIn
import LBSystem
import LBTestSupport
import Testing

/// What a TCP client relies on: half-close both ways, resets passed on, no process death, no leaks.
@Suite("TCP semantics", .serialized)
struct TCPSemanticsTests {
    /// A balancer with one node: a raw listener on 127.0.0.2 that the test drives by hand.
    private func rawNodeHarness(_ path: DataPath) throws -> (Harness, RawListener) {
        let node = try RawListener(host: "127.0.0.2")
        let harness = try Harness(hosts: ["127.0.0.2"], nodePorts: [node.port], path: path)
        return (harness, node)
    }

    @Test("the client's FIN reaches the node after its bytes, and the node's answer still flows back", .timeLimit(.minutes(1)), arguments: allModes)
    func clientHalfClose(path: DataPath) throws {
        let (harness, node) = try rawNodeHarness(path)
        defer { harness.stop() }
        let client = try harness.connect()
        let server = try node.accept()
        try client.send("request body")
        client.shutdownWrite()
        #expect(try server.receiveAll() == Array("request body".utf8), "the node sees the bytes, then end of stream")
        try server.send("answer after the client's FIN")
        server.shutdownWrite()
        #expect(try client.receiveAll() == Array("answer after the client's FIN".utf8))
    }

    @Test("the node's FIN reaches the client after its bytes, and the client's bytes still flow to the node", .timeLimit(.minutes(1)), arguments: allModes)
    func nodeHalfClose(path: DataPath) throws {
        let (harness, node) = try rawNodeHarness(path)
        defer { harness.stop() }
        let client = try harness.connect()
        let server = try node.accept()
        try server.send("banner")
        server.shutdownWrite()
        #expect(try client.receiveAll() == Array("banner".utf8), "the client sees the banner, then end of stream")
        try client.send("still talking")
        client.shutdownWrite()
        #expect(try server.receiveAll() == Array("still talking".utf8))
    }

    @Test("a client's reset resets the node connection", .timeLimit(.minutes(1)), arguments: allModes)
    func clientResetPropagates(path: DataPath) throws {
        let (harness, node) = try rawNodeHarness(path)
        defer { harness.stop() }
        let client = try harness.connect()
        let server = try node.accept()
        try client.send("x")
        client.reset()
        #expect(throws: TestSocket.Failure.self, "the node sees a reset, not a clean end of stream") {
            _ = try server.receiveAll()
        }
    }

    @Test("a node's reset resets the client connection", .timeLimit(.minutes(1)), arguments: allModes)
    func nodeResetPropagates(path: DataPath) throws {
        let (harness, node) = try rawNodeHarness(path)
        defer { harness.stop() }
        let client = try harness.connect()
        let server = try node.accept()
        try client.send("x")
        server.reset()
        #expect(throws: TestSocket.Failure.self, "the client sees a reset, not a clean end of stream") {
            _ = try client.receiveAll()
        }
    }

    @Test("a node that resets while the balancer writes to it does not kill the balancer", .timeLimit(.minutes(1)), arguments: allModes)
    func resetWhileWriting(path: DataPath) throws {
        let (harness, node) = try rawNodeHarness(path)
        defer { harness.stop() }
        for round in 0..<5 {
            let client = try harness.connect()
            let server = try node.accept()
            let sender = Thread {
                let block = [UInt8](repeating: UInt8(round), count: 1 << 20)
                for _ in 0..<64 { if (try? client.send(block)) == nil { break } }
            }
            sender.start()
            usleep(20_000)
            server.reset()
            _ = try? client.receiveAll()
            client.close()
        }
        // Still alive and forwarding.
        let client = try harness.connect()
        let server = try node.accept()
        try server.send("alive")
        server.close()
        #expect(try client.receiveAll() == Array("alive".utf8))
    }

    @Test("idle kept-alive connections hold no pipe", .timeLimit(.minutes(1)), arguments: allModes)
    func idleConnectionsHoldNoPipe(path: DataPath) throws {
        let harness = try Harness(speaks: [.http(service: "q2t"), .echo], path: path)
        defer { harness.stop() }
        var clients: [TestSocket] = []
        for k in 0..<50 {
            let client = try harness.connect(k % 2)
            if k % 2 == 0 {
                #expect(try HTTPExchange.get("/", on: client).status == 200)
            } else {
                let payload = TestData.bytes(count: 256 * 1024, seed: UInt64(k))
                try client.send(payload)
                #expect(try client.receive(exactly: payload.count) == payload)
            }
            clients.append(client)  // all stay open, idle
        }
        var inUse = -1
        let released = eventually {
            inUse = harness.counters.reduce(0) { $0 + $1.pipesInUse.load(ordering: .relaxed) }
            return inUse == 0
        }
        #expect(released, "\(inUse) pipes held by \(clients.count) idle connections")
        #expect(harness.balancer.openConnections == 50)
    }

    @Test("--idle-timeout closes silent connections, spares talking ones, and the worker serves on", .timeLimit(.minutes(1)), arguments: allModes)
    func idleTimeout(path: DataPath) throws {
        let harness = try Harness(speaks: [.echo], path: path, workers: 1, configure: { $0.idleTimeoutMs = 300 })
        defer { harness.stop() }
        func echo(_ client: TestSocket, _ text: String) throws -> Bool {
            try client.send(text)
            return try client.receive(exactly: text.utf8.count) == Array(text.utf8)
        }
        for round in 0..<3 {
            // One that ends by itself before its deadline, one that keeps talking, three that fall silent.
            let ending = try harness.connect(timeout: 5)
            #expect(try echo(ending, "bye"))
            ending.close()
            let talking = try harness.connect(timeout: 5)
            let silent = try (0..<3).map { _ in try harness.connect(timeout: 5) }
            for client in silent { #expect(try echo(client, "hello")) }
            let quiet = monotonicSeconds()
            for k in 0..<8 {
                #expect(try echo(talking, "tick \(k)"), "round \(round): a connection that talks every 100 ms stays")
                usleep(100_000)
            }
            for client in silent {
                #expect(try client.receive().isEmpty, "round \(round): a silent connection ends with a FIN")
            }
            let closedAfter = monotonicSeconds() - quiet
            #expect(closedAfter >= 0.25 && closedAfter < 3, "round \(round): closed \(closedAfter) s after its last byte")
            #expect(try echo(talking, "still here"), "round \(round)")
            talking.close()
        }
        // The worker still serves new connections, and counts none open once every client is gone.
        let late = try harness.connect(timeout: 5)
        #expect(try echo(late, "late"))
        late.close()
        #expect(eventually(within: 3) { harness.balancer.openConnections == 0 }, "open: \(harness.balancer.openConnections)")
    }

    @Test("an idle timeout that ends a connection still holding bytes resets it: a FIN would pass the cut for the end", .timeLimit(.minutes(1)), arguments: allModes)
    func idleTimeoutWithBytesHeld(path: DataPath) throws {
        let harness = try Harness(speaks: [.echo], path: path, workers: 1, configure: { $0.idleTimeoutMs = 600 })
        defer { harness.stop() }
        let client = try harness.connect(timeout: 5)
        // 16 MiB sent, none read: the echo fills every buffer on the way back, the balancer holds what it took,
        // and nothing moves until the idle timeout ends the connection.
        //
        // The sender gives up after 200 ms without progress, well before the balancer's 600 ms idle timeout (its
        // progress needs the balancer to read, which restarts that timeout): a send still blocked when the reset
        // arrives would take the socket's ECONNRESET for itself, and the reader below would then see only the end
        // of stream that follows it (about 1 run in 15 did, on epoll copy).
        var sendTimeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(client.fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
        let payload = TestData.bytes(count: 16 << 20, seed: 5)
        let sender = Thread { try? client.send(payload) }
        sender.start()
        usleep(1_500_000)
        var received = 0
        var ending = "end of stream"
        do {
            while true {
                let chunk = try client.receive(max: 1 << 20)
                if chunk.isEmpty { break }
                received += chunk.count
            }
        } catch {
            ending = "\(error)"
        }
        #expect(received < payload.count, "the echo was cut: \(received) of \(payload.count)")
        #expect(ending.contains("reset"), "the cut connection was reset, not closed with a FIN: \(ending) after \(received) bytes")
    }

    @Test("io_uring ring copy: a connection's queued sends never reach the next connection's socket", .timeLimit(.minutes(1)), arguments: [DataPath(.ioUring, .copy), DataPath(.ioUring, .auto)])
    func queuedSendsStayWithTheirConnection(path: DataPath) throws {
        // A client resets while its echo still streams back (sends to its socket queued in the ring) and new
        // clients connect at once: a new node socket takes the lowest free descriptor number, the one just
        // closed, so a send still queued for the old number would reach the new node, which echoes it to the new
        // client. Each new client must get back exactly what it sent.
        let harness = try Harness(nodes: 1, speaks: [.echo], path: path, workers: 1)
        defer { harness.stop() }
        let started = monotonicSeconds()
        var rounds = 0
        var wrong: [String] = []
        while rounds < 400 && monotonicSeconds() - started < 8 {
            rounds += 1
            let streaming = try harness.connect(timeout: 5)
            try streaming.send(TestData.bytes(count: 256 << 10, seed: UInt64(rounds)))
            _ = try streaming.receive(max: 4096)
            streaming.reset()
            let fresh = try (0..<3).map { _ in try harness.connect(timeout: 5) }
            for (k, client) in fresh.enumerated() {
                let tag = Array("round \(rounds) client \(k) ".utf8)
                try client.send(tag)
                client.shutdownWrite()
                let echoed = (try? client.receiveAll()) ?? []
                if echoed != tag { wrong.append("round \(rounds) client \(k): \(echoed.count) bytes back for \(tag.count)") }
                client.close()
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(rounds * 3) clients got bytes not theirs: \(wrong.prefix(3))")
    }
}

