import Foundation
import Glibc
import LBTestSupport
import Testing

/// Two balancers behind a Kubernetes-style Service: a virtual address that this namespace's nftables translates
/// to one of the two at random when a connection starts (as kube-proxy's iptables and nftables modes do), with
/// the translation of a started connection kept by conntrack. A pod deletion is SIGTERM to one balancer and, a
/// moment later (kube-proxy's lag), its endpoint's removal from the map. What docs/high-availability.md says of
/// the Service set-up is measured here: with the accept grace a planned stop fails no request and open
/// connections finish; without it, the connections that arrive in kube-proxy's lag are refused.
@Suite("two replicas behind a Service: a planned stop loses nothing", .serialized)
struct ServiceReplicasTests {
    static let clients = 4
    /// How long after SIGTERM the endpoint leaves the Service's map: kube-proxy's lag, shortened.
    static let proxyLag = 1.0

    /// The virtual address's translation: an nftables table of its own in this namespace, for the Service's
    /// address only.
    final class ServiceAddress {
        let table = "tlb_svc_\(getpid())"
        let address: String
        let port: Int

        init(address: String, port: Int, endpoints: [String]) throws {
            self.address = address
            self.port = port
            try nft("add table ip \(table); add chain ip \(table) output { type nat hook output priority -100; }")
            try set(endpoints)
        }

        /// Sends new connections to `endpoints` from now on; connections already translated keep theirs.
        func set(_ endpoints: [String]) throws {
            let target = endpoints.count == 1
                ? endpoints[0]
                : "numgen random mod \(endpoints.count) map { "
                    + endpoints.enumerated().map { "\($0.offset) : \($0.element)" }.joined(separator: ", ") + " }"
            try nft("flush chain ip \(table) output; add rule ip \(table) output ip daddr \(address) tcp dport \(port) dnat to \(target)")
        }

        func remove() { try? nft("delete table ip \(table)") }

        private func nft(_ script: String) throws {
            let result = try runCommand(URL(fileURLWithPath: "/usr/sbin/nft"), [script], timeout: 10)
            guard result.status == 0 else { throw TestSocket.Failure(description: "nft \(script): \(result.stderr)") }
        }
    }

    @Test(
        "pod deletion with the accept grace: no request fails, open connections finish during the drain, exit 0",
        .timeLimit(.minutes(2)), arguments: ["epoll", "io_uring"]
    )
    func plannedStopWithGrace(engine: String) throws {
        let outcome = try stop(engine: engine, acceptGraceMs: 2_500)
        #expect(outcome.failed.isEmpty, "failed:\n\(BalancerPairTests.describe(outcome.failed))")
        #expect(outcome.heldOnStopped > 0, "some kept-alive connections were on the stopped replica")
        #expect(outcome.heldWorked == 12, "they all worked, those on the draining replica too")
        #expect(outcome.exitStatus == 0)
        print(
            "service figures [\(engine)] accept grace 2.5 s: requests \(outcome.requests), failed 0, kept-alive connections "
                + "on the stopped replica: \(outcome.heldOnStopped), all of them served during its drain"
        )
    }

    @Test("pod deletion without the accept grace: the connections kube-proxy still sends in its lag are refused", .timeLimit(.minutes(2)))
    func plannedStopWithoutGrace() throws {
        let outcome = try stop(engine: "epoll", acceptGraceMs: 0)
        #expect(!outcome.failed.isEmpty, "connections sent to the closed listeners fail")
        // Refused once the listeners are closed; reset if they were waiting in the accept queue as it closed.
        let refusedOrReset = { (failure: String?) in failure?.contains("refused") == true || failure?.contains("reset") == true }
        #expect(outcome.failed.allSatisfy { refusedOrReset($0.failure) }, "\(BalancerPairTests.describe(outcome.failed))")
        print("service figures [epoll] no accept grace: requests \(outcome.requests), failed \(outcome.failed.count) (refused or reset)")
    }

    struct Outcome {
        var requests: Int
        var failed: [LoadClients.Outcome]
        var heldOnStopped: Int
        var heldWorked: Int
        var exitStatus: Int32?
    }

    /// Two replicas behind the Service's address under load; SIGTERM to one, its endpoint out `proxyLag` later.
    func stop(engine: String, acceptGraceMs: Int) throws -> Outcome {
        let network = try BridgedNetwork(tag: "svc", hosts: ["n1", "n2", "lb1", "lb2"])
        defer { network.remove() }
        var nodes: [BalancerProcess] = []
        defer { for node in nodes { node.stop() } }
        for (index, host) in network.hosts.prefix(2).enumerated() {
            nodes.append(try BalancerProcess(
                ["stand-in", "--host", host.address, "--name", "n\(index + 1)", "--port", "p2p=9000", "--port", "q2t=9101"],
                wrapper: host.wrapper
            ))
            try #require(nodes[index].waitUntilListening(host: host.address, port: 9101), "n\(index + 1): \(nodes[index].log)")
        }
        let replicas = [network.hosts[2], network.hosts[3]]
        var balancers: [BalancerProcess] = []
        defer { for balancer in balancers { balancer.stop(signal: SIGKILL) } }
        for (index, host) in replicas.enumerated() {
            balancers.append(try BalancerProcess(
                ["run", "--listen", "0.0.0.0", "--node", "\(network.hosts[0].address):n1", "--node", "\(network.hosts[1].address):n2",
                 "--service", "p2p=9000", "--service", "q2t=9101", "--engine", engine, "--workers", "1",
                 "--accept-grace", "\(acceptGraceMs)", "--drain-timeout", "20000", "--admin", "127.0.0.1:9990"],
                wrapper: host.wrapper
            ))
            try #require(balancers[index].waitUntilListening(host: host.address, port: 9101), "lb\(index + 1): \(balancers[index].log)")
        }
        let service = try ServiceAddress(address: network.spare(1), port: 9101, endpoints: replicas.map(\.address))
        defer { service.remove() }

        // Kept-alive connections through the Service; those on lb1 must finish during its drain.
        var held: [TestSocket] = []
        for _ in 0..<12 {
            let socket = try TestSocket(host: service.address, port: 9101, timeout: 3)
            try #require(try HTTPExchange.get("/send", on: socket).status == 200)
            held.append(socket)
        }
        let load = LoadClients(
            host: service.address, port: 9101, clients: Self.clients, timeout: 5, maxSeconds: 40, maxRequests: 100_000,
            pauseAfterFailure: 0.02
        )
        defer { load.stop() }
        #expect(eventually(within: 5) { load.all.filter { $0.failure == nil }.count >= 20 }, "load flows")

        kill(balancers[0].pid, SIGTERM)
        usleep(useconds_t(Self.proxyLag * 1e6))
        try service.set([replicas[1].address])
        // Wait until lb1 no longer accepts (its grace is over), then use the held connections: those on lb1 are
        // served by it during its drain.
        #expect(eventually(within: 10) { balancers[0].log.contains("draining") })
        // lb1's open connections as it began to drain: the kept-alive ones the Service gave it (the load's short
        // connections have gone to lb2 since the endpoint left).
        let heldOnStopped = try #require(openConnections(balancers[0]), "\(balancers[0].log)")
        var heldWorked = 0
        for socket in held where (try? HTTPExchange.get("/send", on: socket).status) == 200 { heldWorked += 1 }
        #expect(heldWorked == held.count, "every kept-alive connection works, those on the draining replica too")
        #expect(balancers[0].isRunning, "lb1 drains while connections are open")
        let afterStop = load.elapsed
        #expect(eventually(within: 10) { load.between(afterStop).filter { $0.failure == nil }.count >= 20 }, "lb2 serves")
        load.stop()
        for socket in held { socket.close() }
        let exited = eventually(within: 10) { !balancers[0].isRunning }
        #expect(exited, "lb1 exits once its connections closed")
        return Outcome(
            requests: load.count, failed: load.all.filter { $0.failure != nil }, heldOnStopped: heldOnStopped,
            heldWorked: heldWorked, exitStatus: exited ? balancers[0].process.terminationStatus : nil
        )
    }

    /// Open client connections of a balancer, from its draining log line (`open=N`).
    func openConnections(_ balancer: BalancerProcess) -> Int? {
        guard let line = balancer.log.split(separator: "\n").last(where: { $0.contains("draining") }),
              let field = line.split(separator: " ").first(where: { $0.hasPrefix("open=") })
        else { return nil }
        return Int(field.dropFirst(5))
    }
}
