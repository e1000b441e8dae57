import Foundation
import Glibc
import LBStandIn
import LBTestSupport
import Testing

/// `--max-conns` on a real `tessera-lb run` process: clients past the limit wait in the kernel's accept queue,
/// not in the balancer's descriptor table, whichever engine accepts.
@Suite("connection limit", .serialized)
struct ConnectionLimitTests {
    @Test(
        "--max-conns bounds the descriptors the balancer holds while hundreds of clients wait, and every waiting client is served in turn",
        .timeLimit(.minutes(1)), arguments: ["epoll", "io_uring"]
    )
    func descriptorsBounded(engine: String) throws {
        let group = try StandInGroup(count: 1, speaks: [.echo])
        defer { group.stop() }
        let listen = freePort()
        let limit = 50
        let balancer = try BalancerProcess([
            "run", "--listen", "127.0.0.1", "--workers", "2", "--engine", engine, "--no-health", "--admin", "off",
            "--node", "\(group.hosts[0]):n1", "--service", "echo=\(listen):\(group.ports[0])", "--max-conns", "\(limit)",
        ])
        defer { balancer.stop() }
        try #require(balancer.waitUntilListening(port: listen), "log: \(balancer.log)")
        // Listeners, rings or epoll instances, eventfds, the log: what the process holds with no client.
        let base = balancer.settledDescriptors()

        // The limit's worth of clients, each served (an echo comes back).
        var admitted: [TestSocket] = []
        for _ in 0..<limit {
            let client = try TestSocket(host: "127.0.0.1", port: listen, timeout: 10)
            try client.send("a")
            #expect(try client.receive(exactly: 1) == Array("a".utf8))
            admitted.append(client)
        }
        // 250 more: the kernel completes their handshakes into the accept queue.
        var waiting: [TestSocket] = []
        for _ in 0..<250 { waiting.append(try TestSocket(host: "127.0.0.1", port: listen, timeout: 10)) }
        // A few slots free up, one at a time: each lets one waiting client in, not the whole queue.
        for client in admitted.prefix(10) {
            client.close()
            usleep(50_000)
        }
        admitted.removeFirst(10)
        // Each client holds two descriptors (its socket and its node's); what is accepted ahead of the limit is a
        // few per listener and worker at most (io_uring's accepts in flight).
        let bound = base + 2 * limit + 24
        var most = 0
        let deadline = monotonicSeconds() + 1.5
        while monotonicSeconds() < deadline {
            most = max(most, balancer.openDescriptors)
            usleep(20_000)
        }
        #expect(most <= bound, "\(engine): \(most) descriptors held with \(limit) admitted; at most \(bound) (\(base) with no client)")

        // Every client is served once the ones before it leave: each sends, half-closes, and reads its echo and
        // the end of stream (the node closes after the FIN, so the slot frees without waiting on this thread).
        for client in admitted { client.close() }
        for client in waiting {
            try client.send("b")
            client.shutdownWrite()
        }
        var served = 0
        for client in waiting {
            if (try? client.receiveAll()) == Array("b".utf8) { served += 1 }
            client.close()
        }
        #expect(served == waiting.count, "\(engine): \(served) of \(waiting.count) waiting clients served")
        print("\(engine): --max-conns \(limit), 300 clients: at most \(most) descriptors (\(base) with none), \(served) waiting clients served")
        #expect(balancer.stop() == 0, "log: \(balancer.log)")
    }
}
