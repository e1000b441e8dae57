import Foundation
import LBConfig
import LBStandIn
import LBTestSupport
import Testing

/// `tessera-lb run` as a real process: what only a whole process can show.
@Suite("the tessera-lb process", .serialized)
struct ProcessTests {
    /// Starts `tessera-lb run` on 127.0.0.1 in front of `group`, one service per group port.
    private func startBalancer(
        _ group: StandInGroup, extra: [String] = [], wrapper: [String] = [], probes: Bool = false
    ) throws -> (BalancerProcess, [Int]) {
        let ports = group.ports.map { _ in freePort() }
        // No group check: its requests would count among the nodes' and its HTTP client among the descriptors.
        var arguments = ["run", "--listen", "127.0.0.1", "--workers", "2", "--group-check-interval", "0"] + (probes ? [] : ["--no-health"])
        for host in group.hosts { arguments += ["--node", host] }
        for (k, nodePort) in group.ports.enumerated() { arguments += ["--service", "s\(k)=\(ports[k]):\(nodePort)"] }
        let process = try BalancerProcess(arguments + extra, wrapper: wrapper)
        for port in ports {
            #expect(process.waitUntilListening(port: port), "listening on \(port); log: \(process.log)")
        }
        return (process, ports)
    }

    @Test("forwarding leaves no descriptor behind once connections close", .timeLimit(.minutes(1)), arguments: allModes)
    func noDescriptorGrowth(path: DataPath) throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "q2t"), .echo])
        defer { group.stop() }
        let (balancer, ports) = try startBalancer(group, extra: path.flags)
        #expect(eventually { balancer.log.contains("engine=\(path.engine.rawValue)") }, "runs on the engine asked for; log: \(balancer.log)")
        var counts: [Int] = []
        for round in 0..<4 {
            var clients: [TestSocket] = []
            for k in 0..<100 {
                let client = try TestSocket(host: "127.0.0.1", port: ports[k % 2])
                if k % 2 == 0 {
                    #expect(try HTTPExchange.get("/", on: client).status == 200)
                } else {
                    try client.send(TestData.bytes(count: 300_000, seed: UInt64(k)))
                    client.shutdownWrite()
                    #expect(try client.receiveAll().count == 300_000)
                }
                clients.append(client)
            }
            #expect(balancer.openDescriptors >= 100, "the 50 kept-alive connections are open in the balancer")
            if round == 2 { clients.prefix(20).forEach { $0.reset() } }
            clients.removeAll()
            // Pooled pipes stay; connections' sockets must all go.
            var last = 0
            let settled = eventually {
                last = balancer.openDescriptors
                return counts.isEmpty ? last < 100 : last <= counts[0]
            }
            #expect(settled, "round \(round): \(last) descriptors open, first round settled at \(counts.first ?? -1)")
            counts.append(last)
        }
        #expect(balancer.stop() == 0, "SIGTERM ends the process with status 0")
    }

    @Test("--log-connections: one line per connection when it ends, with its service, node and bytes", .timeLimit(.minutes(1)), arguments: allEngines)
    func connectionLog(path: DataPath) throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "q2t")])
        defer { group.stop() }
        let (balancer, ports) = try startBalancer(group, extra: ["--log-connections", "--admin", "off"] + path.flags)
        var received: [Int] = []
        for _ in 0..<4 {
            let client = try TestSocket(host: "127.0.0.1", port: ports[0])
            try client.send("GET / HTTP/1.1\r\nHost: tessera\r\nConnection: close\r\n\r\n")
            received.append(try client.receiveAll().count)
            client.close()
        }
        // (The readiness check's connection, opened and closed without a byte, has its line too.)
        var lines: [Substring] = []
        #expect(eventually {
            lines = balancer.log.split(separator: "\n").filter { $0.hasSuffix("[TesseraLB] connection") && !$0.contains("bytes_up=0 ") }
            return lines.count >= 4
        }, "four connection lines; log: \(balancer.log)")
        #expect(lines.count == 4, "one line per connection: \(lines)")
        for line in lines {
            #expect(line.contains("service=s0") && line.contains("end=closed"), "\(line)")
            #expect(group.hosts.contains { line.contains("node=\($0)") }, "names its node: \(line)")
            #expect(line.contains("bytes_up=\("GET / HTTP/1.1\r\nHost: tessera\r\nConnection: close\r\n\r\n".utf8.count)"), "\(line)")
        }
        for count in received {
            #expect(lines.contains { $0.contains("bytes_down=\(count) ") }, "a line with the \(count) bytes a client got")
        }
        #expect(balancer.stop() == 0)
    }

    @Test("SIGTERM drains: listeners close, open connections finish, then exit 0", .timeLimit(.minutes(1)), arguments: allEngines)
    func sigtermDrains(path: DataPath) throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "q2t")])
        defer { group.stop() }
        let (balancer, ports) = try startBalancer(group, extra: ["--drain-timeout", "20000"] + path.flags)
        let open = try TestSocket(host: "127.0.0.1", port: ports[0])
        #expect(try HTTPExchange.get("/send", on: open).status == 200)
        kill(balancer.pid, SIGTERM)
        #expect(eventually { (try? TestSocket(host: "127.0.0.1", port: ports[0], timeout: 1)) == nil }, "no new connections")
        #expect(balancer.isRunning, "still draining while a connection is open")
        #expect(try HTTPExchange.get("/send", on: open).status == 200, "the open connection still works")
        let closedAt = monotonicSeconds()
        open.close()
        #expect(eventually(within: 10) { !balancer.isRunning }, "exits once the last connection closed")
        #expect(monotonicSeconds() - closedAt < 5, "well before the drain timeout")
        #expect(balancer.process.terminationStatus == 0)
        #expect(balancer.log.contains("draining"))
        #expect(!balancer.log.contains("[TesseraLB] connection"), "no line per connection unless asked")
    }

    @Test("tessera-lb health: 0 while serving with a node up, 1 when no node is up or while draining", .timeLimit(.minutes(1)))
    func healthCommand() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p")])
        defer { group.stop() }
        let admin = "127.0.0.1:\(freePort())"
        let (balancer, ports) = try startBalancer(
            group, extra: ["--admin", admin, "--health-interval", "100", "--health-timeout", "200", "--drain-timeout", "20000"],
            probes: true
        )
        let health = { (extra: [String]) in try runCommand(tesseraLBExecutable(), ["health", "--admin", admin] + extra, timeout: 10) }
        #expect(eventually(within: 5) { (try? health([]))?.status == 0 }, "healthy with both nodes up")
        for node in group.nodes { node.setMode(.refuse) }
        var last: CommandResult? = nil
        #expect(eventually(within: 5) {
            last = try? health([])
            return last?.status == 1
        }, "unhealthy with every node down")
        #expect(last?.stderr.contains("no node is up") == true, "\(last?.stderr ?? "") log: \(balancer.log)")
        #expect(try health(["--serving-only"]).status == 0, "still serving")
        for node in group.nodes { node.setMode(.up) }
        #expect(eventually(within: 5) { (try? health([]))?.status == 0 })
        let open = try TestSocket(host: "127.0.0.1", port: ports[0])
        #expect(try HTTPExchange.get("/upcheck", on: open).status == 200)
        kill(balancer.pid, SIGTERM)
        #expect(eventually(within: 5) { (try? health([]))?.status == 1 }, "draining is not ready")
        #expect(try health(["--serving-only"]).status == 0, "but alive")
        open.close()
        #expect(eventually(within: 10) { !balancer.isRunning })
    }

    @Test(
        "--accept-grace: on SIGTERM not ready at once (readyz 503, health 1) but new connections are served for the grace; then the listeners close and it exits 0",
        .timeLimit(.minutes(1)), arguments: allEngines
    )
    func acceptGrace(path: DataPath) throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "q2t")])
        defer { group.stop() }
        let admin = "127.0.0.1:\(freePort())"
        let (balancer, ports) = try startBalancer(
            group, extra: ["--admin", admin, "--accept-grace", "2500", "--drain-timeout", "20000"] + path.flags
        )
        let health = { try runCommand(tesseraLBExecutable(), ["health", "--admin", admin], timeout: 10) }
        var before: CommandResult?
        #expect(eventually(within: 5) {
            before = try? health()
            return before?.status == 0
        }, "ready before the signal: \(before?.stderr ?? "")")
        let signalled = monotonicSeconds()
        kill(balancer.pid, SIGTERM)
        var answer: CommandResult?
        #expect(eventually(within: 1) {
            answer = try? health()
            return answer?.status == 1
        }, "not ready at once")
        #expect(answer?.stderr.contains("stopping") == true, "\(answer?.stderr ?? "")")
        // Within the grace, new connections are still served, as many as come.
        var served = 0
        while monotonicSeconds() - signalled < 1.8 {
            let client = try TestSocket(host: "127.0.0.1", port: ports[0], timeout: 2)
            if try HTTPExchange.get("/send", on: client, close: true).status == 200 { served += 1 }
            usleep(50_000)
        }
        #expect(served >= 10, "new connections served during the accept grace: \(served)")
        #expect(balancer.log.contains("stopping: not ready, still accepting during the accept grace"))
        // Then the listeners close: nothing is accepted any more, and with nothing open it exits 0.
        #expect(eventually(within: 5) { (try? TestSocket(host: "127.0.0.1", port: ports[0], timeout: 1)) == nil })
        #expect(monotonicSeconds() - signalled >= 2.4, "not before the grace ran out")
        #expect(eventually(within: 10) { !balancer.isRunning })
        #expect(balancer.process.terminationStatus == 0, "\(balancer.log)")
    }

    @Test("tessera-lb health answers well under a second, also when no balancer runs (keepalived's vrrp_script)")
    func healthIsFast() throws {
        let nobody = "127.0.0.1:\(freePort())"
        let started = monotonicSeconds()
        let result = try runCommand(tesseraLBExecutable(), ["health", "--admin", nobody], timeout: 10)
        let took = monotonicSeconds() - started
        #expect(result.status == 1)
        // A refused connect is not retried until the timeout (1 s): it fails at once.
        #expect(took < 0.6, "took \(took) s")
    }

    @Test("a second signal during the drain exits at once", .timeLimit(.minutes(1)))
    func secondSignalExits() throws {
        let group = try StandInGroup(count: 1, speaks: [.http(service: "q2t")])
        defer { group.stop() }
        let (balancer, ports) = try startBalancer(group, extra: ["--drain-timeout", "60000"])
        let open = try TestSocket(host: "127.0.0.1", port: ports[0])
        #expect(try HTTPExchange.get("/send", on: open).status == 200)
        kill(balancer.pid, SIGTERM)
        #expect(eventually { balancer.log.contains("draining") })
        kill(balancer.pid, SIGINT)
        try #require(eventually(within: 5) { !balancer.isRunning }, "\(balancer.log)")
        #expect(balancer.process.terminationStatus == 1)
    }

    @Test("a second signal during the accept grace exits at once with status 1, saying so", .timeLimit(.minutes(1)))
    func secondSignalDuringGrace() throws {
        let group = try StandInGroup(count: 1, speaks: [.http(service: "q2t")])
        defer { group.stop() }
        let (balancer, _) = try startBalancer(group, extra: ["--accept-grace", "30000", "--drain-timeout", "30000"])
        kill(balancer.pid, SIGINT)
        #expect(eventually { balancer.log.contains("stopping: not ready, still accepting during the accept grace") }, "\(balancer.log)")
        let signalled = monotonicSeconds()
        kill(balancer.pid, SIGTERM)
        try #require(eventually(within: 5) { !balancer.isRunning }, "exits without waiting out the 30 s grace")
        #expect(monotonicSeconds() - signalled < 5)
        #expect(balancer.process.terminationStatus == 1)
        #expect(balancer.log.contains("second signal: exiting without waiting for connections"), "\(balancer.log)")
        #expect(!balancer.log.contains("draining"), "no drain began: \(balancer.log)")
    }

    @Test("after the first signal SIGHUP is ignored with a warning: no reload, not a second signal; the stop goes on to exit 0", .timeLimit(.minutes(1)))
    func sighupWhileStopping() throws {
        let group = try StandInGroup(count: 1, speaks: [.http(service: "q2t")])
        defer { group.stop() }
        let (balancer, ports) = try startBalancer(group, extra: ["--accept-grace", "2000", "--drain-timeout", "20000"])
        // Running, SIGHUP reloads (the same sources: nothing changed).
        kill(balancer.pid, SIGHUP)
        #expect(eventually { balancer.log.contains("reload: nothing changed") }, "\(balancer.log)")
        kill(balancer.pid, SIGTERM)
        #expect(eventually { balancer.log.contains("stopping: not ready") }, "\(balancer.log)")
        kill(balancer.pid, SIGHUP)
        #expect(eventually { balancer.log.contains("reload ignored: stopping") }, "\(balancer.log)")
        // Still in the accept grace: serving.
        let client = try TestSocket(host: "127.0.0.1", port: ports[0], timeout: 2)
        #expect(try HTTPExchange.get("/send", on: client, close: true).status == 200)
        client.close()
        try #require(eventually(within: 10) { !balancer.isRunning }, "\(balancer.log)")
        #expect(balancer.process.terminationStatus == 0, "\(balancer.log)")
        #expect(balancer.log.components(separatedBy: "reload: nothing changed").count == 2, "one reload only: \(balancer.log)")
        #expect(!balancer.log.contains("second signal"))
        #expect(balancer.log.contains("stopped"))
    }

    @Test("SIGPIPE is ignored: a node that resets mid-write does not kill the process", .timeLimit(.minutes(1)), arguments: allModes.filter { $0.mode != .auto })
    func sigpipeIgnored(path: DataPath) throws {
        let node = try RawListener(host: "127.0.0.2")
        let port = freePort()
        let balancer = try BalancerProcess([
            "run", "--listen", "127.0.0.1", "--node", "127.0.0.2", "--service", "s=\(port):\(node.port)", "--no-health",
        ] + path.flags)
        #expect(balancer.waitUntilListening(port: port))
        _ = try node.accept()  // the readiness probe's connection
        for _ in 0..<5 {
            let client = try TestSocket(host: "127.0.0.1", port: port)
            let server = try node.accept()
            let sender = Thread {
                let block = [UInt8](repeating: 7, count: 1 << 20)
                for _ in 0..<32 { if (try? client.send(block)) == nil { break } }
            }
            sender.start()
            usleep(20_000)
            server.reset()
            _ = try? client.receiveAll()
        }
        #expect(balancer.isRunning, "still running; log: \(balancer.log)")
        let client = try TestSocket(host: "127.0.0.1", port: port)
        let server = try node.accept()
        try server.send("alive")
        server.close()
        #expect(try client.receiveAll() == Array("alive".utf8))
        client.close()
        #expect(balancer.stop() == 0)
    }

    @Test("without CAP_SYS_RESOURCE a spent pipe budget falls back to copying, said once in the log", .timeLimit(.minutes(1)))
    func pipeBudgetFallsBackToCopy() throws {
        let group = try StandInGroup(count: 1, speaks: [.echo])
        defer { group.stop() }
        // As an unprivileged user, F_SETPIPE_SZ above pipe-max-size fails with EPERM, as it does once the
        // per-user pipe budget is spent in a default container.
        let maxSize = Int((try? String(contentsOfFile: "/proc/sys/fs/pipe-max-size", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 1_048_576
        let wrapper = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        let (balancer, ports) = try startBalancer(
            group, extra: ["--forward", "splice", "--pipe-size", "\(maxSize * 2)"], wrapper: wrapper
        )
        for k in 0..<5 {
            let client = try TestSocket(host: "127.0.0.1", port: ports[0])
            let payload = TestData.bytes(count: 1 << 20, seed: UInt64(k))
            try client.send(payload)
            client.shutdownWrite()
            #expect(try client.receiveAll() == payload)
        }
        let log = balancer.log
        let notices = log.components(separatedBy: "pipe budget spent").count - 1
        #expect(notices >= 1 && notices <= 2, "one notice per worker at most; log: \(log)")
        #expect(balancer.stop() == 0)
    }
}

/// Bad settings end with status 2 and one line naming the setting, the value and what is wrong.
@Suite("command-line errors")
struct CommandLineErrorTests {
    private func run(_ arguments: [String]) throws -> CommandResult {
        try runCommand(tesseraLBExecutable(), arguments, timeout: 20)
    }

    @Test("an invalid flag value exits 2 with one line naming it", arguments: [
        (["run", "--node", "127.0.0.2", "--workers", "0"], "--workers \"0\""),
        (["run", "--node", "127.0.0.2", "--balance", "random"], "--balance \"random\""),
        (["run", "--node", "127.0.0.2", "--service", "p2p=99999"], "--service"),
        (["run", "--node", "127.0.0.2", "--listen", "localhost:1"], "--listen"),
        (["run"], "node"),
        (["run", "--node", "127.0.0.2", "--no-such-flag"], "--no-such-flag"),
        (["run", "--node", "127.0.0.2", "--accept-grace", "-5"], "--accept-grace \"-5\""),
        (["run", "--node", "127.0.0.2", "--accept-grace", "600001"], "--accept-grace \"600001\""),
    ])
    func invalidFlag(arguments: [String], names: String) throws {
        let result = try run(arguments)
        #expect(result.status == 2, "stderr: \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(result.stderr)")
        #expect(result.stderr.contains(names), "names the setting: \(result.stderr)")
    }

    @Test("run --help and check-config --help list every setting of the table, with its value and default")
    func helpListsSettings() throws {
        let rows = SettingsTable.markdownTable().split(separator: "\n").dropFirst(2)
        let flags = rows.compactMap { $0.firstMatch(of: /`(--[a-z-]+)/).map { String($0.1) } }
        #expect(flags.count >= 45, "\(flags)")
        for command in ["run", "check-config"] {
            let result = try run([command, "--help"])
            #expect(result.status == 0, "\(command): \(result.stderr)")
            let listed = result.stdout.matches(of: /^  (--[a-z-]+)/.anchorsMatchLineEndings()).map { String($0.1) }
            for flag in flags {
                #expect(listed.contains(flag), "\(command) --help lists \(flag)")
            }
        }
        let help = try run(["run", "--help"]).stdout
        #expect(help.contains("--max-conns <N>") && help.contains("default: 16384"), "\(help)")
        #expect(help.contains("--admin <ADDR:PORT|off>") && help.contains("--print-config"), "\(help)")
    }

    @Test("a bad config file exits 2 naming the file and the field")
    func badConfigFile() throws {
        let path = NSTemporaryDirectory() + "tessera-lb-bad-\(getpid()).json"
        try #"{"nodes": ["127.0.0.2"], "services": [{"name": "p2p", "listenPort": 9000}, {"name": "q2t", "listenPort": "x"}]}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let result = try run(["run", "--config", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("services[1].listenPort"), "\(result.stderr)")
        #expect(result.stderr.contains(path), "\(result.stderr)")
        let missing = try run(["run", "--config", path + ".missing"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains(".missing"), "\(missing.stderr)")
    }

    @Test("check-config and run refuse a FIFO as --health-ca at once, and /dev/null as --config", .timeLimit(.minutes(1)))
    func specialFiles() throws {
        let fifo = try FIFO()
        for command in ["check-config", "run"] {
            let result = try run([command, "--listen", "127.0.0.1", "--node", "127.0.0.2", "--health-ca", fifo.path])
            #expect(result.status == 2, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("invalid --health-ca \"\(fifo.path)\": not a regular file (a FIFO)"), "\(result.stderr)")
        }
        let null = try run(["check-config", "--config", "/dev/null"])
        #expect(null.status == 2)
        #expect(null.stderr.contains(#"invalid --config "/dev/null": not a regular file (a character device)"#), "\(null.stderr)")
    }

    @Test("a port already taken exits 1 with the reason")
    func portTaken() throws {
        let taken = try RawListener(host: "127.0.0.1")
        let result = try run(["run", "--listen", "127.0.0.1", "--node", "127.0.0.2", "--service", "s=\(taken.port)"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(taken.port)"), "\(result.stderr)")
    }
}
