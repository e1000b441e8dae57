import Foundation
import LBAdminServer
import LBStandIn
import LBTestSupport
import Testing

/// Partyinfo mirroring on a real `tessera-lb run` over two stand-ins (TesseraModel: partyinfo per process):
/// a peer's `POST /partyinfo` through the P2P service reaches both nodes, so every `/send` finds the peer's key
/// whichever node takes it; TLS and other non-HTTP P2P traffic passes byte for byte; chunked bodies and
/// pipelined requests are framed; a node that hangs or refuses never delays the client.
@Suite("partyinfo mirroring on the p2p service", .serialized)
struct PartyinfoMirrorTests {
    static let speaks: [StandInProtocol] = [.http(service: "p2p"), .http(service: "thirdparty"), .http(service: "q2t")]
    static let remoteKey = StandInTesseraTests.remoteKey
    static let otherKey = "T1RIRVJLRVlPVEhFUktFWU9USEVSS0VZT1RIRVJLRVk="

    struct Running {
        let process: BalancerProcess
        let admin: Int
        /// Listen ports: p2p, thirdparty, q2t.
        let ports: [Int]

        var p2p: Int { ports[0] }
        var q2t: Int { ports[2] }

        func status() throws -> StatusReport {
            let answer = try HTTPExchange.get("/status", on: TestSocket(host: "127.0.0.1", port: admin), close: true)
            try #require(answer.status == 200)
            return try StatusReport.decoder().decode(StatusReport.self, from: Data(answer.body.utf8))
        }

        func metrics() throws -> String {
            try HTTPExchange.get("/metrics", on: TestSocket(host: "127.0.0.1", port: admin), close: true).body
        }
    }

    func start(_ group: StandInGroup, _ path: DataPath, mirror: Bool = true, health: Bool = true) throws -> Running {
        let listen = group.ports.map { _ in freePort() }
        let admin = freePort()
        var arguments = [
            "run", "--listen", "127.0.0.1", "--workers", "1", "--admin", "127.0.0.1:\(admin)",
            "--mirror-partyinfo", mirror ? "on" : "off", "--group-check-interval", "0",
        ] + path.flags + (health ? ["--health-interval", "200"] : ["--no-health"])
        for (n, host) in group.hosts.enumerated() { arguments += ["--node", "\(host):n\(n + 1)"] }
        for (k, name) in ["p2p", "thirdparty", "q2t"].enumerated() { arguments += ["--service", "\(name)=\(listen[k]):\(group.ports[k])"] }
        let process = try BalancerProcess(arguments)
        try #require(process.waitUntilListening(port: admin), "\(process.log)")
        return Running(process: process, admin: admin, ports: listen)
    }

    static func partyinfo(key: String = remoteKey) -> [UInt8] {
        StandInTesseraTests.partyinfo(from: "http://10.9.9.9:9000", keys: [key])
    }

    /// Whether every node, asked directly, has learned `key`.
    static func everyNodeKnows(_ key: String, _ group: StandInGroup) -> Bool {
        group.nodes.allSatisfy { $0.tessera.knownRemoteKeys.contains(key) }
    }

    /// `count` sends to the remote key, each on a connection of its own (the balancer spreads connections).
    static func sends(_ count: Int, port: Int) throws -> [Int] {
        try (0..<count).map { _ in
            try HTTPExchange.post("/send", body: StandInTesseraTests.send(to: [remoteKey]), on: TestSocket(host: "127.0.0.1", port: port), close: true).status
        }
    }

    @Test("one partyinfo POST, then 200 sends round-robin: none fails with mirroring", arguments: allModes)
    func sendsSucceed(_ path: DataPath) throws {
        let group = try StandInGroup(count: 2, speaks: Self.speaks)
        defer { group.stop() }
        let balancer = try start(group, path)
        defer { balancer.process.stop() }
        let answer = try HTTPExchange.post("/partyinfo", body: Self.partyinfo(), contentType: "application/octet-stream",
                                           on: TestSocket(host: "127.0.0.1", port: balancer.p2p))
        #expect(answer.status == 200)
        #expect(eventually(within: 5) { Self.everyNodeKnows(Self.remoteKey, group) }, "the copy reached the other node")
        let statuses = try Self.sends(200, port: balancer.q2t)
        #expect(statuses.filter { $0 != 201 }.isEmpty, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
        let mirror = try balancer.status().mirror
        #expect(mirror.enabled)
        #expect(mirror.requests == 1 && mirror.copies == 1 && mirror.failed == 0 && mirror.dropped == 0, "\(mirror)")
        #expect(mirror.unframed == 0, "the probes' and Q2T's connections are not framed")
        let metrics = try balancer.metrics()
        #expect(metrics.contains(#"tessera_lb_worker_partyinfo_copies_total{worker="0",result="ok"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"tessera_lb_worker_partyinfo_requests_total{worker="0"} 1"#))
        let page = try HTTPExchange.get("/", on: TestSocket(host: "127.0.0.1", port: balancer.admin), close: true).body
        #expect(page.contains("Partyinfo mirroring: 1 requests, 1 copies sent, 0 failed, 0 dropped"), "the status page says it")
    }

    @Test("without mirroring, about half of the same sends fail with 404 Recipient not found")
    func sendsFailWithoutMirroring() throws {
        let group = try StandInGroup(count: 2, speaks: Self.speaks)
        defer { group.stop() }
        let balancer = try start(group, .default, mirror: false)
        defer { balancer.process.stop() }
        let answer = try HTTPExchange.post("/partyinfo", body: Self.partyinfo(), contentType: "application/octet-stream",
                                           on: TestSocket(host: "127.0.0.1", port: balancer.p2p))
        #expect(answer.status == 200)
        Thread.sleep(forTimeInterval: 0.5)  // what a copy would have needed
        #expect(group.nodes.filter { $0.tessera.knownRemoteKeys.contains(Self.remoteKey) }.count == 1)
        let statuses = try Self.sends(200, port: balancer.q2t)
        let failed = statuses.filter { $0 == 404 }.count
        #expect((60...140).contains(failed), "\(failed) of 200 failed")
        #expect(failed + statuses.filter { $0 == 201 }.count == 200)
        let mirror = try balancer.status().mirror
        #expect(!mirror.enabled && mirror.requests == 0 && mirror.copies == 0, "\(mirror)")
    }

    @Test("a TLS P2P connection passes byte for byte and is not mirrored, whatever it carries", arguments: allModes)
    func tlsPassesUntouched(_ path: DataPath) throws {
        // Echo nodes: what comes back is exactly what the balancer forwarded.
        let group = try StandInGroup(count: 2, speaks: [.echo, .http(service: "thirdparty"), .http(service: "q2t")])
        defer { group.stop() }
        let balancer = try start(group, path, health: false)
        defer { balancer.process.stop() }
        // A TLS record header, then bytes that would frame as a partyinfo request, then 1 MiB (bulk: splice may take over).
        var stream: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]
        stream += Array("POST /partyinfo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello".utf8)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        stream += (0..<(1 << 20)).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: seed >> 33)
        }
        let socket = try TestSocket(host: "127.0.0.1", port: balancer.p2p)
        let payload = stream
        let writer = Thread { try? socket.send(payload); socket.shutdownWrite() }
        writer.start()
        let echoed = try socket.receiveAll()
        #expect(echoed.count == stream.count)
        #expect(echoed == stream, "bytes differ")
        #expect(eventually(within: 5) { (try? balancer.status().mirror.unframed) == 1 })
        let mirror = try balancer.status().mirror
        #expect(mirror.requests == 0 && mirror.copies == 0, "\(mirror)")
        #expect(group.nodes.map(\.connectionsAccepted).reduce(0, +) == 1, "no copy went to the other node")
    }

    @Test("a chunked partyinfo body, sent in pieces, is mirrored", arguments: allEngines)
    func chunkedBody(_ path: DataPath) throws {
        let group = try StandInGroup(count: 2, speaks: Self.speaks)
        defer { group.stop() }
        let balancer = try start(group, path)
        defer { balancer.process.stop() }
        let body = Self.partyinfo()
        let socket = try TestSocket(host: "127.0.0.1", port: balancer.p2p)
        socket.setNoDelay()
        let pieces: [[UInt8]] = [
            Array("POST /partyinfo HTTP/1.1\r\nHost: tessera\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".utf8),
            Array(String(20, radix: 16).utf8) + Array(";piece=1\r\n".utf8) + Array(body[0..<20]) + [13, 10],
            Array(String(body.count - 20, radix: 16).utf8) + [13, 10] + Array(body[20...]) + [13, 10],
            Array("0\r\nX-Trailer: yes\r\n\r\n".utf8),
        ]
        for piece in pieces {
            try socket.send(piece)
            Thread.sleep(forTimeInterval: 0.05)  // separate reads at the balancer
        }
        #expect(try HTTPExchange.read(from: socket).status == 200)
        #expect(eventually(within: 5) { Self.everyNodeKnows(Self.remoteKey, group) })
        let mirror = try balancer.status().mirror
        #expect(mirror.requests == 1, "\(mirror)")
        #expect(eventually(within: 5) { (try? balancer.status().mirror.copies) == 1 })
    }

    @Test("a client that pipelines gets every answer in order, and both partyinfo requests are mirrored", arguments: allEngines)
    func pipelining(_ path: DataPath) throws {
        let group = try StandInGroup(count: 2, speaks: Self.speaks)
        defer { group.stop() }
        let balancer = try start(group, path)
        defer { balancer.process.stop() }
        func post(_ key: String) -> [UInt8] {
            let body = Self.partyinfo(key: key)
            return Array("POST /partyinfo HTTP/1.1\r\nHost: tessera\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        }
        let socket = try TestSocket(host: "127.0.0.1", port: balancer.p2p)
        try socket.send(post(Self.remoteKey) + Array("GET /upcheck HTTP/1.1\r\nHost: tessera\r\n\r\n".utf8) + post(Self.otherKey)
                        + Array("GET /version HTTP/1.1\r\nHost: tessera\r\n\r\n".utf8))
        let answers = try Self.answers(4, from: socket)
        #expect(answers.map(\.status) == [200, 200, 200, 200])
        #expect(answers.map(\.body) == ["", "I'm up!", "", TesseraModel.defaultVersion], "in order")
        #expect(eventually(within: 5) { Self.everyNodeKnows(Self.remoteKey, group) && Self.everyNodeKnows(Self.otherKey, group) })
        #expect(eventually(within: 5) { (try? balancer.status().mirror.copies) == 2 })
        #expect(try balancer.status().mirror.requests == 2)
    }

    @Test("a partyinfo request over the 1 MiB bound is forwarded whole but not mirrored, and counted as dropped", arguments: allEngines)
    func oversized(_ path: DataPath) throws {
        let group = try StandInGroup(count: 2, speaks: Self.speaks)
        defer { group.stop() }
        let balancer = try start(group, path)
        defer { balancer.process.stop() }
        let socket = try TestSocket(host: "127.0.0.1", port: balancer.p2p)
        // Not a partyinfo the node can decode (it answers 400), but whole: the node read every byte of it.
        let answer = try HTTPExchange.post("/partyinfo", body: [UInt8](repeating: 0x41, count: 2 << 20), contentType: "application/octet-stream", on: socket)
        #expect(answer.status == 400 && answer.body == "malformed partyinfo", "\(answer.status) \(answer.body)")
        // The connection goes on, and the next partyinfo on it is mirrored.
        #expect(try HTTPExchange.post("/partyinfo", body: Self.partyinfo(), contentType: "application/octet-stream", on: socket).status == 200)
        #expect(eventually(within: 5) { Self.everyNodeKnows(Self.remoteKey, group) })
        #expect(eventually(within: 5) { (try? balancer.status().mirror.copies) == 1 })
        let mirror = try balancer.status().mirror
        #expect(mirror.requests == 2 && mirror.dropped == 1 && mirror.failed == 0, "\(mirror)")
    }

    /// Reads `count` answers (Content-Length bodies) that may arrive together, in order: (status, body).
    static func answers(_ count: Int, from socket: TestSocket) throws -> [(status: Int, body: String)] {
        var buffer: [UInt8] = []
        var out: [(status: Int, body: String)] = []
        while out.count < count {
            let text = String(decoding: buffer, as: UTF8.self)
            if let headEnd = text.range(of: "\r\n\r\n") {
                let head = text[..<headEnd.lowerBound]
                let status = Int(head.split(separator: " ")[1]) ?? 0
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                let bodyStart = text.utf8.distance(from: text.startIndex, to: headEnd.upperBound)
                if buffer.count >= bodyStart + length {
                    out.append((status, String(decoding: buffer[bodyStart..<(bodyStart + length)], as: UTF8.self)))
                    buffer.removeFirst(bodyStart + length)
                    continue
                }
            }
            let chunk = try socket.receive()
            if chunk.isEmpty { throw TestSocket.Failure(description: "end of stream after \(out.count) answers") }
            buffer += chunk
        }
        return out
    }

    @Test("a node that hangs or refuses does not delay the client; the copy's failure is counted and logged",
          arguments: allEngines.flatMap { path in [StandInMode.hang, .refuse].map { (path, $0) } })
    func failingNode(_ path: DataPath, _ mode: StandInMode) throws {
        let group = try StandInGroup(count: 2, speaks: Self.speaks)
        defer { group.stop() }
        let balancer = try start(group, path, health: false)
        defer { balancer.process.stop() }
        let socket = try TestSocket(host: "127.0.0.1", port: balancer.p2p)
        let own = try #require(try HTTPExchange.get("/which", on: socket).node)
        let other = try #require(group.nodes.first { $0.name != own })
        other.setMode(mode)
        let started = monotonicSeconds()
        let answer = try HTTPExchange.post("/partyinfo", body: Self.partyinfo(), contentType: "application/octet-stream", on: socket)
        let took = monotonicSeconds() - started
        let failedWhenAnswered = try balancer.status().mirror.failed
        #expect(answer.status == 200)
        // A copy waiting on a hung node would hold the answer for its whole 3750 ms timeout.
        #expect(took < 3, "answered in \(took) s")
        if mode == .hang { #expect(failedWhenAnswered == 0, "the answer came before the copy gave up") }
        #expect(eventually(within: 10) { (try? balancer.status().mirror.failed) == 1 })
        #expect(try balancer.status().mirror.copies == 0)
        let reason = mode == .hang ? "no answer within 3750 ms" : "Connection refused"
        #expect(eventually(within: 2) { balancer.process.log.contains("partyinfo mirror: 1 copy failed") && balancer.process.log.contains(reason) },
                "\(balancer.process.log)")
        // The connection goes on as before.
        #expect(try HTTPExchange.get("/upcheck", on: socket).body == "I'm up!")
    }
}
