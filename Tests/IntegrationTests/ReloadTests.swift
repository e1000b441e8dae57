import Foundation
import Glibc
import LBAdminServer
import LBBalancing
import LBConfig
import LBStandIn
import LBTestSupport
import Testing
import TesseraLB

/// Live reload on a real `tessera-lb run` process: SIGHUP and `tessera-lb ctl reload` re-read the config file
/// and apply it without dropping established connections and without refusing new ones.
@Suite("live reload", .serialized)
struct ReloadTests {
    /// A `tessera-lb run --config FILE` process over stand-in nodes, with its admin listener, and the file to
    /// rewrite before a reload.
    final class Reloadable: @unchecked Sendable {
        let path: String
        let admin: String
        let process: BalancerProcess

        /// Starts the balancer on `config` (written to a file of its own), waiting for `ports` to listen.
        init(config: [String: Any], ports: [Int], extra: [String] = []) throws {
            path = NSTemporaryDirectory() + "tessera-lb-reload-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
            admin = "127.0.0.1:\(freePort())"
            try Self.write(config, to: path)
            process = try BalancerProcess(["run", "--config", path, "--admin", admin] + extra)
            for port in ports {
                #expect(process.waitUntilListening(port: port), "listening on \(port); log: \(process.log)")
            }
        }

        /// Replaces the config file.
        func rewrite(_ config: [String: Any]) throws {
            try Self.write(config, to: path)
        }

        /// Sends SIGHUP and waits for the `reloaded` line (or `rejected`) that follows the `count` there were.
        func sighup(expecting word: String = "reloaded") -> Bool {
            let before = process.log.components(separatedBy: word).count
            kill(process.pid, SIGHUP)
            return eventually(within: 10) { process.log.components(separatedBy: word).count > before }
        }

        /// `GET path` on the admin listener.
        func adminGet(_ path: String) throws -> HTTPExchange {
            let (host, port) = (String(admin.split(separator: ":")[0]), Int(admin.split(separator: ":")[1])!)
            let socket = try TestSocket(host: host, port: port)
            try socket.send("GET \(path) HTTP/1.1\r\nHost: \(admin)\r\nConnection: close\r\n\r\n")
            return try HTTPExchange.read(from: socket)
        }

        /// The admin listener's `/status`.
        func status() throws -> StatusReport {
            let answer = try adminGet("/status")
            try #require(answer.status == 200, "\(answer.body)")
            return try StatusReport.decoder().decode(StatusReport.self, from: Data(answer.body.utf8))
        }

        /// The log lines containing `text`.
        func lines(containing text: String) -> [String] {
            process.log.split(separator: "\n").filter { $0.contains(text) }.map(String.init)
        }

        deinit {
            process.stop(signal: SIGKILL, seconds: 5)
            unlink(path)
        }

        private static func write(_ config: [String: Any], to path: String) throws {
            let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            // Written whole and renamed into place, as a ConfigMap update is: a reload never reads half a file.
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        }
    }

    /// A config file's `nodes`: the group's nodes at `indices`, named as the stand-ins name themselves.
    private func nodes(_ group: StandInGroup, _ indices: [Int]) -> [[String: Any]] {
        indices.map { ["host": group.hosts[$0], "name": group.nodes[$0].name] }
    }

    @Test(
        "reload under load: a node added, one removed, a health setting changed; no client fails, transfers in flight stay byte-exact",
        .timeLimit(.minutes(1))
    )
    func underLoad() throws {
        let group = try StandInGroup(count: 3, speaks: [.http(service: "p2p"), .echo])
        defer { group.stop() }
        let (httpPort, echoPort) = (freePort(), freePort())
        var config: [String: Any] = [
            "nodes": nodes(group, [0, 1]),
            "services": [
                ["name": "p2p", "listenPort": httpPort, "nodePort": group.ports[0]],
                ["name": "echo", "listenPort": echoPort, "nodePort": group.ports[1]],
            ],
            "listen": "127.0.0.1", "workers": 2, "drainTimeoutMs": 30_000,
            "health": ["intervalMs": 100, "timeoutMs": 500, "rise": 2, "fall": 2],
        ]
        let lb = try Reloadable(config: config, ports: [httpPort, echoPort])
        #expect(eventually(within: 10) { (try? lb.status())?.nodes.allSatisfy { $0.probes.allSatisfy { $0.lastGood != nil } } == true })
        let listenersBefore = listeningSocketInodes(port: httpPort)
        #expect(listenersBefore.count == 2, "one listening socket per worker: \(listenersBefore)")

        // Long transfers through the echo service, opened before the load so that both nodes have some (each
        // worker's round robin starts at another node, and six connections give one worker at least three).
        let transfers = try (0..<6).map { k in try EchoTransfer(port: echoPort, bytes: 2 << 20, seed: UInt64(k)) }
        let before = try lb.status()
        #expect(before.nodes.map(\.name) == ["n1", "n2"])
        #expect(before.nodes.allSatisfy { $0.activeConnections >= 1 }, "transfers on both nodes: \(before.nodes.map(\.activeConnections))")
        #expect(eventually(within: 10) { transfers.allSatisfy { $0.halfEchoed } }, "the first halves came back")

        let load = LoadClients(port: httpPort, clients: 4, timeout: 5, maxSeconds: 30, maxRequests: 1_500)
        defer { load.stop() }
        #expect(eventually(within: 10) { load.count >= 200 }, "load runs before the reload: \(load.count)")

        // n2 out, n3 in, and a health setting changed.
        config["nodes"] = nodes(group, [0, 2])
        config["health"] = ["intervalMs": 100, "timeoutMs": 500, "rise": 3, "fall": 2]
        try lb.rewrite(config)
        #expect(lb.sighup(), "reloaded; log: \(lb.process.log)")
        let reloadedAt = load.elapsed
        let line = lb.lines(containing: "reloaded").last ?? ""
        #expect(line.contains("nodes added: n3"), "\(line)")
        #expect(line.contains("nodes removed: n2"), "\(line)")
        #expect(line.contains("health.rise 2 -> 3"), "\(line)")
        #expect(listeningSocketInodes(port: httpPort) == listenersBefore, "the listening sockets were handed over, not reopened")

        // The previous engine's connections count while they drain: the six transfers are still open.
        let during = try lb.status()
        #expect(during.nodes.map(\.name) == ["n1", "n3"])
        #expect(during.connections.open >= 6, "open connections include the previous engine's: \(during.connections.open)")

        #expect(eventually(within: 10) { load.count >= 600 }, "load goes on after the reload: \(load.count)")
        for transfer in transfers { transfer.sendSecondHalf() }
        for (k, transfer) in transfers.enumerated() {
            #expect(transfer.finish() == .exact, "transfer \(k) byte-exact across the reload")
        }
        load.stop()

        let outcomes = load.all
        let failures = outcomes.filter { $0.node == nil }
        #expect(failures.isEmpty, "no failed client connection: \(failures.prefix(5).map { $0.failure ?? "" })")
        let after = outcomes.filter { $0.at > reloadedAt }
        #expect(after.count >= 200, "\(after.count) requests after the reload")
        #expect(!after.contains { $0.node == "n2" }, "none reaches the removed node after the reload")
        #expect(after.contains { $0.node == "n3" }, "the added node takes new connections")
        #expect(outcomes.contains { $0.node == "n2" && $0.at < reloadedAt }, "n2 served before the reload")

        // The previous engine retires once its connections finished; the totals do not go back.
        #expect(eventually(within: 10) { (try? lb.status())?.connections.open == 0 })
        let final = try lb.status()
        #expect(final.connections.accepted >= outcomes.count + transfers.count, "\(final.connections.accepted) accepted")
        #expect(lb.process.stop() == 0, "SIGTERM after a reload: exit 0; log: \(lb.process.log)")
    }

    @Test(
        "after a reload that changes something, the previous configuration's connections run to their end, well past the drain timeout; --reload-hard-stop-after bounds them",
        .timeLimit(.minutes(1)), arguments: [0, 1_000]
    )
    func previousConnectionsRunToTheirEnd(hardStopAfterMs: Int) throws {
        let group = try StandInGroup(count: 2, speaks: [.echo])
        defer { group.stop() }
        let echoPort = freePort()
        var config: [String: Any] = [
            "nodes": nodes(group, [0, 1]),
            "services": [["name": "echo", "listenPort": echoPort, "nodePort": group.ports[0]]],
            "listen": "127.0.0.1", "workers": 2, "drainTimeoutMs": 500, "maxFails": 1, "health": ["enabled": false],
        ]
        if hardStopAfterMs > 0 { config["reloadHardStopAfterMs"] = hardStopAfterMs }
        let lb = try Reloadable(config: config, ports: [echoPort])
        let held = try TestSocket(host: "127.0.0.1", port: echoPort, timeout: 5)
        func echoes(_ text: String) -> Bool {
            (try? held.send(text)) != nil && (try? held.receive(exactly: text.utf8.count)) == Array(text.utf8)
        }
        #expect(echoes("before"))

        config["maxFails"] = 2
        try lb.rewrite(config)
        #expect(lb.sighup(), "reloaded; log: \(lb.process.log)")
        let reloadedAt = monotonicSeconds()
        func at(_ seconds: Double) { usleep(UInt32(max(0, reloadedAt + seconds - monotonicSeconds()) * 1_000_000)) }
        // Past the drain timeout (which is SIGTERM's, not the reload's), both ways still.
        at(0.7)
        #expect(echoes("past the drain timeout"), "the previous configuration's connection works after 0.7 s")
        at(2)
        if hardStopAfterMs == 0 {
            #expect(echoes("and later"), "the previous configuration's connection works after 2 s")
            #expect(try lb.status().connections.open == 1)
            held.close()
            #expect(eventually(within: 5) { (try? lb.status())?.connections.open == 0 }, "the previous engine retires once it ended")
            #expect(lb.lines(containing: "hard stop").isEmpty, "\(lb.process.log)")
        } else {
            // Closed at the hard stop (1 s): the end of stream is there to read.
            #expect((try? held.receive()) == [], "closed by the hard stop")
            #expect(lb.lines(containing: "reload: hard stop").count == 1, "logged; log: \(lb.process.log)")
            #expect(try lb.status().connections.open == 0)
        }
        // New connections were never in question.
        let fresh = try TestSocket(host: "127.0.0.1", port: echoPort, timeout: 5)
        try fresh.send("new")
        #expect(try fresh.receive(exactly: 3) == Array("new".utf8))
        fresh.close()
        #expect(lb.process.stop() == 0, "log: \(lb.process.log)")
    }

    @Test(
        "200 reloads that each change something, under a stream of new connections: none is refused, reset or cut short",
        .timeLimit(.minutes(3)), arguments: ["epoll", "io_uring"]
    )
    func reloadStorm(engine: String) throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        var config: [String: Any] = [
            "nodes": nodes(group, [0, 1]),
            "services": [["name": "p2p", "listenPort": port, "nodePort": group.ports[0]]],
            "listen": "127.0.0.1", "workers": 2, "engine": engine, "maxFails": 1, "health": ["enabled": false],
        ]
        let lb = try Reloadable(config: config, ports: [port])
        let load = LoadClients(port: port, clients: 4, timeout: 5, maxSeconds: 150, maxRequests: 400_000)
        defer { load.stop() }
        #expect(eventually(within: 10) { load.count >= 100 }, "load runs: \(load.count)")
        var reloads = 0
        for k in 0..<200 {
            // Alternately one setting and the order of the nodes: each reload starts a new engine.
            if k % 2 == 0 { config["maxFails"] = config["maxFails"] as? Int == 1 ? 2 : 1 }
            else { config["nodes"] = nodes(group, (k / 2) % 2 == 0 ? [1, 0] : [0, 1]) }
            try lb.rewrite(config)
            guard lb.sighup() else {
                Issue.record("reload \(k) not applied; log: \(lb.process.log.suffix(2_000))")
                break
            }
            reloads += 1
        }
        load.stop()
        let outcomes = load.all
        let failures = outcomes.filter { $0.node == nil }
        #expect(reloads == 200)
        #expect(outcomes.count >= 400, "\(outcomes.count) requests")
        #expect(failures.isEmpty, "\(engine): \(failures.count) of \(outcomes.count) connections failed: \(failures.prefix(5).map { $0.failure ?? "" })")
        print("\(engine): \(reloads) reloads, \(outcomes.count) connections, \(failures.count) failed")
        #expect(lb.process.stop() == 0, "log: \(lb.process.log.suffix(2_000))")
    }

    @Test("a service added by reload opens its port, a removed one closes its port, the others are untouched", .timeLimit(.minutes(1)))
    func servicesAddedAndRemoved() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "a"), .http(service: "b"), .http(service: "c")])
        defer { group.stop() }
        let ports = [freePort(), freePort(), freePort()]
        func service(_ k: Int) -> [String: Any] { ["name": ["a", "b", "c"][k], "listenPort": ports[k], "nodePort": group.ports[k]] }
        var config: [String: Any] = [
            "nodes": nodes(group, [0, 1]), "services": [service(0), service(1)], "listen": "127.0.0.1", "workers": 2,
            "health": ["enabled": false],
        ]
        let lb = try Reloadable(config: config, ports: [ports[0], ports[1]])
        #expect((try? TestSocket(host: "127.0.0.1", port: ports[2], timeout: 1)) == nil, "c is not there yet")
        let keptA = listeningSocketInodes(port: ports[0])
        let openA = try TestSocket(host: "127.0.0.1", port: ports[0])
        let openB = try TestSocket(host: "127.0.0.1", port: ports[1])
        #expect(try HTTPExchange.get("/x", on: openA).status == 200)
        #expect(try HTTPExchange.get("/x", on: openB).status == 200)

        config["services"] = [service(0), service(2)]
        try lb.rewrite(config)
        #expect(lb.sighup(), "log: \(lb.process.log)")
        let line = lb.lines(containing: "reloaded").last ?? ""
        #expect(line.contains("services added: c=127.0.0.1:\(ports[2])"), "\(line)")
        #expect(line.contains("services removed: b=127.0.0.1:\(ports[1])"), "\(line)")

        #expect((try? TestSocket(host: "127.0.0.1", port: ports[1], timeout: 1)) == nil, "b's port closed")
        let c = try TestSocket(host: "127.0.0.1", port: ports[2])
        #expect(try HTTPExchange.get("/x", on: c).status == 200, "c's port serves")
        #expect(listeningSocketInodes(port: ports[0]) == keptA, "a's listening sockets stayed open")
        let a = try TestSocket(host: "127.0.0.1", port: ports[0])
        #expect(try HTTPExchange.get("/x", on: a).status == 200, "a takes new connections")
        #expect(try HTTPExchange.get("/y", on: openA).status == 200, "a's established connection goes on")
        #expect(try HTTPExchange.get("/y", on: openB).status == 200, "b's established connection finishes on the previous engine")
        let status = try lb.status()
        #expect(status.services.map(\.name) == ["a", "c"])
        for socket in [openA, a, c] { socket.close() }

        // SIGTERM drains the previous engine's connections too: b's is still open, and still works.
        kill(lb.process.pid, SIGTERM)
        #expect(eventually { (try? TestSocket(host: "127.0.0.1", port: ports[0], timeout: 1)) == nil }, "listeners closed")
        #expect(lb.process.isRunning, "waits for the previous configuration's connection")
        #expect(try HTTPExchange.get("/z", on: openB).status == 200)
        openB.close()
        #expect(eventually(within: 10) { !lb.process.isRunning }, "exits once it closed")
        #expect(lb.process.process.terminationStatus == 0)
    }

    @Test("an invalid config on SIGHUP is rejected with a line naming the field; the running configuration stays", .timeLimit(.minutes(1)))
    func invalidConfigRejected() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        var config: [String: Any] = [
            "nodes": nodes(group, [0]), "services": [["name": "p2p", "listenPort": port, "nodePort": group.ports[0]]],
            "listen": "127.0.0.1", "workers": 2, "health": ["enabled": false],
        ]
        let lb = try Reloadable(config: config, ports: [port])
        let open = try TestSocket(host: "127.0.0.1", port: port)
        #expect(try HTTPExchange.get("/x", on: open).node == "n1")

        // A second node, and a value out of range: nothing of it may be applied.
        config["nodes"] = nodes(group, [0, 1])
        config["maxConns"] = 0
        try lb.rewrite(config)
        #expect(lb.sighup(expecting: "reload rejected"), "log: \(lb.process.log)")
        let rejected = lb.lines(containing: "reload rejected")
        #expect(rejected.count == 1, "one line: \(rejected)")
        #expect(rejected.first?.contains("invalid maxConns \"0\" in \(lb.path)") == true, "names the field and the file: \(rejected)")
        #expect(lb.lines(containing: "reloaded").isEmpty)

        #expect(lb.process.isRunning)
        #expect(try HTTPExchange.get("/y", on: open).node == "n1", "the open connection goes on")
        for _ in 0..<8 {
            let client = try TestSocket(host: "127.0.0.1", port: port)
            #expect(try HTTPExchange.get("/z", on: client, close: true).node == "n1", "still the old configuration: n1 alone")
        }
        #expect(try lb.status().nodes.map(\.name) == ["n1"])

        // A file that is not JSON at all is rejected the same way.
        try "{ not json".write(toFile: lb.path, atomically: true, encoding: .utf8)
        #expect(lb.sighup(expecting: "reload rejected"))
        #expect(lb.lines(containing: "reload rejected").last?.contains("not valid JSON") == true, "\(lb.process.log)")
        #expect(lb.process.isRunning)

        // Fixed, it applies.
        config["maxConns"] = 1_000
        try lb.rewrite(config)
        #expect(lb.sighup())
        #expect(lb.lines(containing: "reloaded").last?.contains("maxConns 16384 -> 1000") == true, "\(lb.process.log)")
        #expect(try lb.status().nodes.map(\.name) == ["n1", "n2"])
        open.close()
        #expect(lb.process.stop() == 0)
    }

    @Test("tessera-lb ctl reload reloads through the admin listener, and is refused without the token", .timeLimit(.minutes(1)))
    func ctlReload() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let port = freePort()
        var config: [String: Any] = [
            "nodes": nodes(group, [0]), "services": [["name": "p2p", "listenPort": port, "nodePort": group.ports[0]]],
            "listen": "127.0.0.1", "workers": 1, "health": ["enabled": false],
        ]
        let token = "s3cret-token"
        let lb = try Reloadable(config: config, ports: [port], extra: ["--admin-token", token])
        let ctl = { (extra: [String]) in
            try runCommand(tesseraLBExecutable(), ["ctl", "reload", "--admin", lb.admin] + extra, timeout: 30, environment: [:])
        }
        config["nodes"] = nodes(group, [0, 1])
        try lb.rewrite(config)

        let refused = try ctl([])
        #expect(refused.status == 1, "no token: \(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("401"), "\(refused.stderr)")
        let wrong = try ctl(["--admin-token", "not-it"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("wrong token"), "\(wrong.stderr)")
        #expect(lb.lines(containing: "reloaded").isEmpty, "nothing reloaded without the token")
        #expect(try lb.status().nodes.map(\.name) == ["n1"])

        let done = try ctl(["--admin-token", token])
        #expect(done.status == 0, "\(done.stderr) log: \(lb.process.log)")
        #expect(done.stdout.contains("nodes added: n2"), "prints what changed: \(done.stdout)")
        #expect(lb.lines(containing: "reloaded").count == 1)
        #expect(try lb.status().nodes.map(\.name) == ["n1", "n2"])
        var answered: Set<String> = []
        for _ in 0..<8 {
            let client = try TestSocket(host: "127.0.0.1", port: port)
            if let node = try HTTPExchange.get("/x", on: client, close: true).node { answered.insert(node) }
        }
        #expect(answered == ["n1", "n2"], "both nodes answer after the reload: \(answered)")

        // Nothing new: said so, nothing restarted.
        let again = try ctl(["--admin-token", token])
        #expect(again.status == 0)
        #expect(again.stdout.contains("nothing changed"), "\(again.stdout)")

        // Rejected: status 1 and the reason, as the log has it.
        config["balance"] = "random"
        try lb.rewrite(config)
        let invalid = try ctl(["--admin-token", token])
        #expect(invalid.status == 1)
        #expect(invalid.stderr.contains("reload rejected") && invalid.stderr.contains("invalid balance \"random\""), "\(invalid.stderr)")
        #expect(lb.lines(containing: "reload rejected").count == 1)
        #expect(lb.process.stop() == 0)
    }
}

/// `Balancer.reload(to:)` in this process: the hand-over of unix sockets, and a reload that cannot be applied.
@Suite("live reload in process", .serialized)
struct InProcessReloadTests {
    /// A harness whose first service listens on a unix socket in a folder of its own, the second on TCP.
    private func harness(_ name: String) throws -> (Harness, path: String, cleanup: () -> Void) {
        let dir = NSTemporaryDirectory() + "tessera-lb-reload-\(getpid())-\(name)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/tm.ipc"
        let harness = try Harness(speaks: [.http(service: "q2t"), .http(service: "p2p")]) { config in
            config.services[0].listenPath = path
        }
        return (harness, path, { harness.stop(); try? FileManager.default.removeItem(atPath: dir) })
    }

    private func inode(_ path: String) -> UInt64? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.systemFileNumber] as? UInt64
    }

    @Test("a unix-socket service keeps its socket across a reload; the file goes when the balancer stops", .timeLimit(.minutes(1)))
    func unixSocketHandedOver() throws {
        let (harness, path, cleanup) = try harness("unix")
        defer { cleanup() }
        let socketFile = try #require(inode(path))
        let tcpPort = harness.port(1)
        let open = try TestSocket(unixPath: path)
        #expect(try HTTPExchange.get("/a", on: open).status == 200)

        var config = harness.balancer.config
        config.nodes.removeLast()
        let summary = try harness.balancer.reload(to: config)
        #expect(summary.changes == ["nodes removed: n2 (open connections finish)"])
        #expect(summary.generation == 2)
        #expect(inode(path) == socketFile, "the same socket file: the listener was handed over, not bound again")
        #expect(harness.port(1) == tcpPort, "the TCP service (port 0 asked) keeps the port it had")
        for _ in 0..<6 {
            let client = try TestSocket(unixPath: path)
            #expect(try HTTPExchange.get("/b", on: client, close: true).node == "n1", "n1 alone after the reload")
        }
        #expect(try HTTPExchange.get("/c", on: open).status == 200, "the open unix connection goes on")
        #expect(harness.balancer.openConnections >= 1)
        #expect(harness.balancer.runningEngines == 2, "the previous engine drains the open connection")
        open.close()
        // The previous engine stops once its connection closed, and must leave the file to the new one.
        #expect(eventually(within: 5) { harness.balancer.runningEngines == 1 })
        #expect(inode(path) == socketFile)
        let after = try TestSocket(unixPath: path)
        #expect(try HTTPExchange.get("/d", on: after, close: true).status == 200)
        harness.balancer.stop()
        #expect(!FileManager.default.fileExists(atPath: path), "the socket file is removed on stop")
    }

    @Test("a reload whose new port is taken is rejected and changes nothing, unix socket file included", .timeLimit(.minutes(1)))
    func portTakenRejected() throws {
        let (harness, path, cleanup) = try harness("taken")
        defer { cleanup() }
        let taken = try RawListener(host: "127.0.0.1")
        let before = harness.balancer.config
        var config = before
        config.nodes.removeLast()
        // First, so the failure comes while the set still holds the unix socket: the rollback must leave its file.
        config.services.insert(.init(name: "new", listenPort: taken.port, nodePort: config.services[1].nodePort), at: 0)
        #expect {
            try harness.balancer.reload(to: config)
        } throws: { error in
            "\(error)".contains("cannot listen") && "\(error)".contains("\(taken.port)")
        }
        #expect(harness.balancer.config == before)
        #expect(harness.balancer.nodes.map(\.name) == ["n1", "n2"])
        #expect(harness.balancer.nodes.allSatisfy { $0.adminState == .enabled }, "no node was set draining")
        #expect(FileManager.default.fileExists(atPath: path), "the unix socket's file stays")
        var answered: Set<String> = []
        for _ in 0..<8 {
            let client = try TestSocket(unixPath: path)
            if let node = try HTTPExchange.get("/x", on: client, close: true).node { answered.insert(node) }
        }
        #expect(answered == ["n1", "n2"], "the running configuration serves on: \(answered)")
        let tcp = try harness.connect(1)
        #expect(try HTTPExchange.get("/y", on: tcp, close: true).status == 200)
    }
}
