import Foundation
import Glibc
import LBStandIn
import LBTestSupport
import Testing

/// What the admin listener may take from the balancer: descriptors, time and memory, whatever its clients do.
@Suite("the admin listener's limits", .serialized)
struct AdminLimitsTests {
    /// `tessera-lb run` with one service in front of `group`, the admin listener on `adminPort`, probes on.
    private func start(
        _ group: StandInGroup, port: Int, adminPort: Int, extra: [String] = [], wrapper: [String] = []
    ) throws -> BalancerProcess {
        var arguments = ["run", "--listen", "127.0.0.1", "--workers", "1", "--service", "p2p=\(port):\(group.ports[0])"]
        for host in group.hosts { arguments += ["--node", host] }
        // Probes often, with room for a slow answer on a busy machine: a node goes down on failures, not slowness.
        arguments += ["--admin", "127.0.0.1:\(adminPort)", "--health-interval", "100", "--health-timeout", "3000", "--health-fall", "3"]
        let balancer = try BalancerProcess(arguments + extra, wrapper: wrapper)
        #expect(balancer.waitUntilListening(port: adminPort), "admin listening; log: \(balancer.log)")
        #expect(balancer.waitUntilListening(port: port), "service listening; log: \(balancer.log)")
        return balancer
    }

    @Test("300 admin connections against a cap of 32 under a low nofile limit: probes and clients keep working", .timeLimit(.minutes(1)))
    func capKeepsDescriptorsForProbesAndClients() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        let adminPort = freePort()
        // Room for the process, its probes and a few clients, not for 300 admin connections.
        let balancer = try start(
            group, port: port, adminPort: adminPort, extra: ["--admin-max-conns", "32", "--max-conns", "8"],
            wrapper: ["/usr/bin/prlimit", "--nofile=128:128", "--"]
        )
        let base = balancer.settledDescriptors()
        // A flood of slow admin clients: each sends half a request and waits. Bounded in count and time (a
        // listener that stopped accepting makes each connect wait for a SYN retry).
        var flood: [TestSocket] = []
        let floodEnds = monotonicSeconds() + 10
        for _ in 0..<300 where monotonicSeconds() < floodEnds {
            guard let socket = try? TestSocket(host: "127.0.0.1", port: adminPort, timeout: 0.5) else { continue }
            try? socket.send("GET /status HTTP/1.1\r\n")
            flood.append(socket)
        }
        defer { flood.forEach { $0.close() } }  // also on a failed check; closing twice is harmless
        // Probes run every 100 ms, three failures mark a node down: a second and a half with the flood open.
        usleep(1_500_000)
        let client = try TestSocket(host: "127.0.0.1", port: port, timeout: 5)
        let answer = try? HTTPExchange.get("/", on: client)
        #expect(answer?.status == 200, "a client gets through while the flood is open; log: \(balancer.log)")
        #expect(!balancer.log.contains("node down"), "no probe failed for want of a descriptor; log: \(balancer.log)")
        #expect(balancer.log.contains("admin connections at the limit"), "the log says the cap turned clients away")
        // The cap's 32 admin connections and the client's two sockets above what it held at rest, and a few for
        // probes in flight: far from the 128 the flood would take without the cap.
        #expect(balancer.openDescriptors <= base + 32 + 2 + 8, "descriptors open: \(balancer.openDescriptors), \(base) at rest")
        client.close()
        flood.forEach { $0.close() }
        // Once the flood is gone, the listener answers again.
        #expect(eventually(within: 10) {
            guard let socket = try? TestSocket(host: "127.0.0.1", port: adminPort, timeout: 2) else { return false }
            return (try? HTTPExchange.get("/status", on: socket))?.status == 200
        }, "the admin listener serves once the flood closed; log: \(balancer.log)")
        #expect(balancer.stop() == 0)
    }

    @Test("a client that sends half a request, or nothing, is closed after the request timeout; kept-alive ones live longer", .timeLimit(.minutes(1)))
    func slowRequestsAreClosed() throws {
        let group = try StandInGroup(count: 1, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        let adminPort = freePort()
        let balancer = try start(group, port: port, adminPort: adminPort)
        let half = try TestSocket(host: "127.0.0.1", port: adminPort, timeout: 15)
        try half.send("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let silent = try TestSocket(host: "127.0.0.1", port: adminPort, timeout: 15)
        let kept = try TestSocket(host: "127.0.0.1", port: adminPort, timeout: 15)
        #expect(try HTTPExchange.get("/status", on: kept).status == 200)
        // Well within the idle timeout (30 s) and well past the request timeout (5 s).
        let start = monotonicSeconds()
        #expect((try? half.receive()) == [], "half a request: closed by the balancer")
        #expect((try? silent.receive()) == [], "no request at all: closed by the balancer")
        #expect(monotonicSeconds() - start < 14)
        usleep(UInt32(max(0, 7 - (monotonicSeconds() - start)) * 1_000_000))
        #expect((try? HTTPExchange.get("/status", on: kept))?.status == 200, "an idle kept-alive connection is still served")
        #expect(balancer.stop() == 0)
    }

    @Test("a client that pipelines GET /metrics and never reads does not grow the balancer's memory", .timeLimit(.minutes(1)))
    func pipelinedMetricsWithoutReading() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        let adminPort = freePort()
        let balancer = try start(group, port: port, adminPort: adminPort)
        let warm = try TestSocket(host: "127.0.0.1", port: adminPort)
        let page = try HTTPExchange.get("/metrics", on: warm)
        #expect(page.status == 200)
        warm.close()
        let before = balancer.residentBytes
        #expect(before > 0)
        // Pipelined requests, never read, for a few seconds (bounded): a send that cannot go on within a second
        // means the balancer stopped reading, which is what it should do.
        let greedy = try TestSocket(host: "127.0.0.1", port: adminPort, timeout: 1)
        greedy.setReceiveBuffer(4096)
        let batch = Array(String(repeating: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", count: 100).utf8)
        var sent = 0
        let ends = monotonicSeconds() + 5
        while monotonicSeconds() < ends && sent < 200_000 {
            guard (try? greedy.send(batch)) != nil else { break }
            sent += 100
        }
        // What the balancer took in is answered for seconds after (a page each): the highest RSS meanwhile.
        var during = 0
        for _ in 0..<8 {
            usleep(1_000_000)
            during = max(during, balancer.residentBytes)
        }
        let limit = 64 << 20
        #expect(during - before < limit, "RSS \(before >> 20) MiB before, up to \(during >> 20) MiB with \(sent) requests pipelined (page \(page.body.utf8.count) bytes)")
        greedy.close()
        usleep(2_000_000)
        let after = balancer.residentBytes
        #expect(after - before < limit, "RSS \(before >> 20) MiB before, \(after >> 20) MiB after the client closed")
        let again = try TestSocket(host: "127.0.0.1", port: adminPort, timeout: 5)
        #expect(try HTTPExchange.get("/status", on: again).status == 200, "still serving")
        #expect(balancer.stop() == 0)
    }
}
