import Foundation
import Glibc
import LBTestSupport
import Testing

/// Two balancers behind one floating address that keepalived moves, as deploy/keepalived/ sets them up: on a
/// segment of the test's own (a bridge in a network namespace), two stand-in nodes, two balancers each with its
/// keepalived (from Debian's package), and this process as the client, sending a request per connection all the
/// time. The keepalived.conf and tessera-lb.env used are deploy/keepalived/'s, with only their address and path
/// definitions replaced for this segment. The figures each test prints are those of docs/high-availability.md.
@Suite("balancer pair: two balancers, one floating address moved by keepalived", .serialized)
struct BalancerPairTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let keepalived = "/usr/sbin/keepalived"
    static let engines = ["epoll", "io_uring"]
    /// Concurrent clients, each one request at a time: at most this many requests are ever in flight.
    static let clients = 4

    /// The pair, running: `holder` has the floating address and serves, the other stands by.
    final class Pair {
        let network: BridgedNetwork
        let nodes: [BalancerProcess]
        var balancers: [BalancerProcess]
        var keepaliveds: [BalancerProcess]
        let vip: String
        let directory: URL
        var balancerHosts: [BridgedNetwork.Host] { [network.hosts[2], network.hosts[3]] }

        init(engine: String) throws {
            network = try BridgedNetwork(tag: "pair", hosts: ["n1", "n2", "lb1", "lb2"])
            vip = network.spare(0)
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("tlb-pair-\(getpid())-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            var nodes: [BalancerProcess] = []
            for (index, host) in network.hosts.prefix(2).enumerated() {
                nodes.append(try BalancerProcess(
                    ["stand-in", "--host", host.address, "--name", "n\(index + 1)", "--port", "p2p=9000", "--port", "q2t=9101"],
                    wrapper: host.wrapper
                ))
            }
            self.nodes = nodes
            balancers = []
            keepaliveds = []
            for (index, host) in network.hosts.prefix(2).enumerated() {
                try #require(nodes[index].waitUntilListening(host: host.address, port: 9101), "n\(index + 1): \(nodes[index].log)")
            }
            // The standby starts before it holds the address (freebind): both balancers start before keepalived
            // gives the address to either.
            for host in balancerHosts {
                balancers.append(try startBalancer(on: host, engine: engine))
            }
            for (index, balancer) in balancers.enumerated() {
                let ready = eventually(within: 10, every: 50) { balancer.log.contains("admin listening") || !balancer.isRunning }
                try #require(ready && balancer.isRunning, "lb\(index + 1) runs without holding \(vip): \(balancer.log)")
                #expect(!network.holds(balancerHosts[index], address: vip), "keepalived has not given out the address yet")
            }
            let configuration = try Self.keepalivedConfiguration(
                vip: vip, lb1: balancerHosts[0].address, lb2: balancerHosts[1].address
            )
            let file = directory.appendingPathComponent("keepalived.conf")
            try configuration.write(to: file, atomically: true, encoding: .utf8)
            for (index, host) in balancerHosts.enumerated() {
                let id = "lb\(index + 1)"
                keepaliveds.append(try BalancerProcess(command: host.wrapper + [
                    BalancerPairTests.keepalived, "--dont-fork", "--log-console", "--log-detail", "--vrrp", "--config-id", id,
                    "--use-file", file.path, "--pid", directory.appendingPathComponent("\(id).pid").path,
                    "--vrrp_pid", directory.appendingPathComponent("\(id)-vrrp.pid").path,
                ]))
            }
            let elected = eventually(within: 15, every: 100) { holders.count == 1 }
            try #require(elected, "one balancer holds \(vip); keepalived lb1: \(keepaliveds[0].log)\nlb2: \(keepaliveds[1].log)")
            let serving = eventually(within: 10, every: 100) {
                guard let socket = try? TestSocket(host: vip, port: 9101, timeout: 2) else { return false }
                return (try? HTTPExchange.get("/upcheck", on: socket, close: true).status) == 200
            }
            try #require(serving, "\(vip):9101 answers through the holder")
        }

        /// The balancers (0 or 1) whose host holds the floating address now.
        var holders: [Int] { balancerHosts.indices.filter { network.holds(balancerHosts[$0], address: vip) } }

        /// `tessera-lb run` on `host`, configured by deploy/keepalived/tessera-lb.env with this segment's addresses.
        func startBalancer(on host: BridgedNetwork.Host, engine: String, freebind: Bool = true) throws -> BalancerProcess {
            var environment = try BalancerPairTests.environmentFile()
            environment["TESSERA_LB_NODES"] = "\(network.hosts[0].address):n1,\(network.hosts[1].address):n2"
            environment["TESSERA_LB_LISTEN"] = vip
            environment["TESSERA_LB_SERVICES"] = "p2p=9000,q2t=9101"
            environment["TESSERA_LB_ENGINE"] = engine
            environment["TESSERA_LB_WORKERS"] = "1"
            if !freebind { environment["TESSERA_LB_FREEBIND"] = "false" }
            let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return try BalancerProcess(["run"], wrapper: host.wrapper + ["/usr/bin/env"] + assignments)
        }

        func stop() {
            for process in keepaliveds { process.stop() }
            for process in balancers { process.stop(signal: SIGKILL) }
            for process in nodes { process.stop() }
            network.remove()
            try? FileManager.default.removeItem(at: directory)
        }

        /// deploy/keepalived/keepalived.conf with its definitions for this segment: every one it replaces must be
        /// in the file, so the test runs the file as it is shipped.
        static func keepalivedConfiguration(vip: String, lb1: String, lb2: String) throws -> String {
            let shipped = try String(
                contentsOf: BalancerPairTests.root.appendingPathComponent("deploy/keepalived/keepalived.conf"), encoding: .utf8
            )
            let definitions = [
                "INTERFACE": "eth0", "VIP": "\(vip)/24", "LB1": lb1, "LB2": lb2, "TESSERA_LB": tesseraLBExecutable().path,
                "ADMIN": "127.0.0.1:9990",
            ]
            var lines = shipped.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for (name, value) in definitions {
                let index = try #require(lines.firstIndex { $0.hasPrefix("$\(name)=") }, "keepalived.conf defines $\(name)")
                lines[index] = "$\(name)=\(value)"
            }
            return lines.joined(separator: "\n")
        }
    }

    /// deploy/keepalived/tessera-lb.env as variables.
    static func environmentFile() throws -> [String: String] {
        let text = try String(contentsOf: root.appendingPathComponent("deploy/keepalived/tessera-lb.env"), encoding: .utf8)
        var environment: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && line.contains("=") {
            let parts = line.split(separator: "=", maxSplits: 1)
            environment[String(parts[0])] = String(parts[1])
        }
        return environment
    }

    /// The longest time between two successful answers (by when they ended), counted from `from`, and when the
    /// first request that started after `from` succeeded (the balancers serve again).
    static func longestGap(_ outcomes: [LoadClients.Outcome], from: Double) -> (gap: Double, firstSuccess: Double?) {
        let successes = outcomes.filter { $0.failure == nil && $0.end > from }.map(\.end).sorted()
        var gap = 0.0
        var last = from
        for end in successes {
            gap = max(gap, end - last)
            last = end
        }
        let first = outcomes.filter { $0.failure == nil && $0.at > from }.map(\.end).min()
        return (gap, first)
    }

    /// Failures as `started-ended: why` lines, for messages.
    static func describe(_ outcomes: [LoadClients.Outcome]) -> String {
        outcomes.prefix(20).map { String(format: "%.3f-%.3f: ", $0.at, $0.end) + ($0.failure ?? "") }.joined(separator: "\n")
    }

    @Test(
        "planned stop: SIGTERM the holder; the address moves, it exits 0, no more requests fail than were in flight",
        .timeLimit(.minutes(2)), arguments: engines
    )
    func plannedStop(engine: String) throws {
        let pair = try Pair(engine: engine)
        defer { pair.stop() }
        let holder = try #require(pair.holders.first)
        let standby = 1 - holder
        // Keep-alive connections on the holder, to measure what a move costs them.
        var held: [TestSocket] = []
        for _ in 0..<4 {
            let socket = try TestSocket(host: pair.vip, port: 9101, timeout: 3)
            try #require(try HTTPExchange.get("/send", on: socket).status == 200)
            held.append(socket)
        }
        let load = LoadClients(
            host: pair.vip, port: 9101, clients: Self.clients, timeout: 5, maxSeconds: 40, maxRequests: 100_000, pauseAfterFailure: 0.02
        )
        defer { load.stop() }
        #expect(eventually(within: 5) { load.all.filter { $0.failure == nil }.count >= 20 }, "load flows before the stop")

        let signalled = load.elapsed
        kill(pair.balancers[holder].pid, SIGTERM)
        let moved = eventually(within: 5, every: 20) { pair.holders == [standby] }
        let movedAt = load.elapsed
        #expect(moved, "the address moves to the standby; keepalived: \(pair.keepaliveds[holder].log)")
        // Accept grace (3 s) and drain timeout (5 s) of tessera-lb.env: the kept-alive connections above keep the
        // drain waiting to its end, since their packets reach the standby now.
        let exited = eventually(within: 15) { !pair.balancers[holder].isRunning }
        #expect(exited, "the stopped balancer exits after its accept grace and drain")
        if exited { #expect(pair.balancers[holder].process.terminationStatus == 0, "exit 0: \(pair.balancers[holder].log)") }
        let afterStop = load.elapsed
        #expect(eventually(within: 10) { load.between(afterStop).filter { $0.failure == nil }.count >= 20 }, "the standby serves")
        load.stop()

        let failed = load.between(signalled - 1).filter { $0.failure != nil }
        let (gap, _) = Self.longestGap(load.all, from: signalled)
        // Each client has one request in flight at a time, so `clients` bounds what was in flight at the move.
        // Those may fail: the old holder can no longer send from an address it gave up, and their clients'
        // packets reach the standby now. They fail by the client's timeout (5 s here), as the gap shows.
        #expect(failed.count <= Self.clients, "failed:\n\(Self.describe(failed))")
        let late = failed.filter { $0.at > movedAt }
        #expect(late.isEmpty, "nothing that started once the standby held the address fails:\n\(Self.describe(late))")
        #expect(pair.balancers[holder].log.contains("stopping: not ready, still accepting during the accept grace"))
        // What the move costs connections that were open on the old holder: their packets now reach the standby,
        // which has no such connection and resets them (docs/high-availability.md).
        var heldCut = 0
        for socket in held where (try? HTTPExchange.get("/send", on: socket).status) != 200 { heldCut += 1 }
        print(
            "pair figures [\(engine)] planned stop: requests \(load.count), failed \(failed.count), address moved "
                + "\(String(format: "%.2f", movedAt - signalled)) s after SIGTERM, longest gap without an answer "
                + "\(String(format: "%.2f", gap)) s, kept-alive connections on the old holder cut: \(heldCut) of \(held.count)"
        )
    }

    @Test(
        "crash: SIGKILL the holder; the standby serves again within 3 s and nothing fails after that",
        .timeLimit(.minutes(2)), arguments: engines
    )
    func crash(engine: String) throws {
        let pair = try Pair(engine: engine)
        defer { pair.stop() }
        let holder = try #require(pair.holders.first)
        let standby = 1 - holder
        let load = LoadClients(
            host: pair.vip, port: 9101, clients: Self.clients, timeout: 5, maxSeconds: 40, maxRequests: 100_000, pauseAfterFailure: 0.02
        )
        defer { load.stop() }
        #expect(eventually(within: 5) { load.all.filter { $0.failure == nil }.count >= 20 }, "load flows before the crash")

        let killedAt = load.elapsed
        kill(pair.balancers[holder].pid, SIGKILL)
        #expect(eventually(within: 5, every: 20) { pair.holders == [standby] }, "keepalived: \(pair.keepaliveds[holder].log)")
        let movedAt = load.elapsed
        #expect(eventually(within: 10) { load.between(movedAt).filter { $0.failure == nil }.count >= 30 }, "the standby serves")
        load.stop()

        let (gap, firstSuccess) = Self.longestGap(load.all, from: killedAt)
        let recovered = try #require(firstSuccess, "a request succeeded after the crash")
        #expect(gap <= 3.0, "longest stretch without a successful request: \(gap) s")
        let lateFailures = load.all.filter { $0.failure != nil && $0.at >= recovered }
        #expect(lateFailures.isEmpty, "nothing fails once the standby serves:\n\(Self.describe(lateFailures))")
        let failed = load.between(killedAt - 1).filter { $0.failure != nil }.count
        print(
            "pair figures [\(engine)] crash: requests \(load.count), failed \(failed), address moved "
                + "\(String(format: "%.2f", movedAt - killedAt)) s after SIGKILL, serving again "
                + "\(String(format: "%.2f", recovered - killedAt)) s after it, longest gap without an answer \(String(format: "%.2f", gap)) s"
        )
    }

    @Test("freebind: without it, a balancer cannot listen on an address its host does not hold, and says which setting helps")
    func withoutFreebind() throws {
        let network = try BridgedNetwork(tag: "free", hosts: ["lb"])
        defer { network.remove() }
        let host = network.hosts[0]
        let absent = network.spare(0)
        let refused = try BalancerProcess(
            ["run", "--listen", absent, "--node", "127.0.0.1:n1", "--service", "q2t=9101", "--no-health", "--admin", "off"],
            wrapper: host.wrapper
        )
        #expect(eventually(within: 10) { !refused.isRunning })
        #expect(refused.process.terminationStatus != 0)
        #expect(refused.log.contains("bind(\(absent):9101)"), "\(refused.log)")
        #expect(refused.log.contains("--freebind (TESSERA_LB_FREEBIND"), "\(refused.log)")

        // With it, the same balancer listens, and serves once the address arrives.
        let node = try BalancerProcess(["stand-in", "--host", "127.0.0.1", "--name", "n1", "--port", "q2t=9101"], wrapper: host.wrapper)
        defer { node.stop() }
        let standby = try BalancerProcess(
            ["run", "--listen", absent, "--freebind", "--node", "127.0.0.1:n1", "--service", "q2t=9101", "--no-health",
             "--admin", "off"],
            wrapper: host.wrapper
        )
        defer { standby.stop() }
        #expect(eventually(within: 10) { standby.log.contains("forwarding") || !standby.isRunning })
        #expect(standby.isRunning, "\(standby.log)")
        try network.run(in: host, ["/usr/sbin/ip", "addr", "add", "\(absent)/24", "dev", "eth0"])
        let served = eventually(within: 10, every: 100) {
            guard let socket = try? TestSocket(host: absent, port: 9101, timeout: 2) else { return false }
            return (try? HTTPExchange.get("/upcheck", on: socket, close: true).status) == 200
        }
        #expect(served, "the standby serves once it holds the address")
    }
}
