import Foundation
import LBStandIn
import LBTestSupport
import Testing

/// `--allow`: a service admits only the clients its allowlist names; others are closed at accept, counted and
/// logged, and never reach a node. Clients on different 127.x addresses stand for different hosts.
@Suite("allowlists at the listener", .serialized)
struct AllowlistTests {
    @Test("admitted addresses are served; others are closed with no byte, never reach a node, counted and logged", arguments: allEngines)
    func admitsOnlyTheList(path: DataPath) throws {
        let group = try StandInGroup(count: 1, speaks: [.http(service: "q2t"), .http(service: "p2p")])
        defer { group.stop() }
        let listen = [freePort(), freePort()]
        let admin = freePort()
        let balancer = try BalancerProcess([
            "run", "--listen", "127.0.0.1", "--workers", "1", "--no-health", "--group-check-interval", "0",
            "--admin", "127.0.0.1:\(admin)", "--node", "\(group.hosts[0]):n1",
            "--service", "q2t=\(listen[0]):\(group.ports[0])", "--service", "p2p=\(listen[1]):\(group.ports[1])",
            "--allow", "q2t=127.0.0.5,127.0.1.0/24",
        ] + path.flags)
        defer { balancer.stop() }
        try #require(balancer.waitUntilListening(port: admin), "\(balancer.log)")
        for source in ["127.0.0.5", "127.0.1.77"] {
            let client = try TestSocket(host: "127.0.0.1", port: listen[0], timeout: 5, source: source)
            #expect(try HTTPExchange.get("/send", on: client).node == "n1", "\(source) is admitted")
        }
        let accepted = group.nodes[0].connectionsAccepted
        for source in ["127.0.0.6", "127.0.2.1", "127.0.0.1"] {
            let client = try TestSocket(host: "127.0.0.1", port: listen[0], timeout: 5, source: source)
            try? client.send("GET /send HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = (try? client.receive()) ?? []
            #expect(answer.isEmpty, "\(source) is closed with no answer")
        }
        #expect(group.nodes[0].connectionsAccepted == accepted, "no refused client reached the node")
        // A service without a list admits everyone.
        let other = try TestSocket(host: "127.0.0.1", port: listen[1], timeout: 5, source: "127.0.0.6")
        #expect(try HTTPExchange.get("/send", on: other).node == "n1")
        let metrics = try HTTPExchange.get("/metrics", on: TestSocket(host: "127.0.0.1", port: admin), close: true).body
        let refused = metrics.split(separator: "\n").filter { $0.hasPrefix("tessera_lb_worker_refused_by_allowlist_total{") }
            .compactMap { Double($0.split(separator: " ").last!) }.reduce(0, +)
        #expect(refused == 3, "\(metrics.split(separator: "\n").filter { $0.contains("allowlist") })")
        #expect(eventually(within: 3) { balancer.log.contains("allowlist: refused 1 connection not admitted by service q2t's list, the last from 127.0.0.6") }, "\(balancer.log)")
    }

    @Test("useWhiteList in the Tessera configs: the P2P service admits the hosts of the peer URLs only")
    func tesseraWhiteList() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tlb-allow-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var files: [String] = []
        for n in 1...2 {
            let text = """
                {"useWhiteList": true,
                 "peer": [{"url": "http://127.0.0.7:9000"}, {"url": "http://localhost:9000"}],
                 "serverConfigs": [
                   {"app": "P2P", "serverAddress": "http://lb.example:9000", "bindingAddress": "http://10.0.0.1\(n):9000"},
                   {"app": "Q2T", "serverAddress": "http://lb.example:9101", "bindingAddress": "http://10.0.0.1\(n):9101"}]}
                """
            let file = directory.appendingPathComponent("tessera-\(n).json")
            try text.write(to: file, atomically: true, encoding: .utf8)
            files.append(file.path)
        }
        let printed = try runCommand(
            tesseraLBExecutable(), ["run", "--print-config", "--tessera-config", files[0], "--tessera-config", files[1]], timeout: 20
        )
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout.contains(#"{"name": "p2p", "listenPort": 9000, "nodePort": 9000, "allow": ["127.0.0.7", "localhost"]}"#), "\(printed.stdout)")
        #expect(printed.stdout.contains(#"{"name": "q2t", "listenPort": 9101, "nodePort": 9101}"#))
    }
}
