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
}
