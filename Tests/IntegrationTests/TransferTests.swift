import LBForwarding
import Synchronization
import TesseraLB
import Foundation
import LBConfig
import LBStandIn
import LBTestSupport
import Testing

/// Bytes arrive complete and in order, both ways at once, in every forwarding mode.
@Suite("byte-exact transfer", .serialized)
struct TransferTests {
    @Test("256 MiB each way at once arrive byte-exact", .timeLimit(.minutes(3)), arguments: allModes)
    func bulkBothWays(path: DataPath) throws {
        let harness = try Harness(speaks: [.echo], path: path)
        defer { harness.stop() }
        let total = 256 << 20
        let chunk = 1 << 20
        let seed = UInt64(0x7E55_E7A0)
        let client = try harness.connect(timeout: 30)

        let sendError = LockedBox<String?>(nil)
        let sender = Thread {
            var block = [UInt8](repeating: 0, count: chunk)
            do {
                for offset in stride(from: 0, to: total, by: chunk) {
                    block.withUnsafeMutableBytes { TestData.fill($0, offset: offset, seed: seed) }
                    try client.send(block)
                }
                client.shutdownWrite()
            } catch {
                sendError.set("\(error)")
            }
        }
        sender.start()

        var received = 0
        var expected = [UInt8](repeating: 0, count: chunk)
        var pending: [UInt8] = []
        var mismatchAt: Int? = nil
        while received < total {
            let data = try client.receive(max: chunk)
            if data.isEmpty { break }
            pending += data
            while pending.count >= chunk || (received + pending.count == total && !pending.isEmpty) {
                let n = min(chunk, pending.count)
                expected.withUnsafeMutableBytes { TestData.fill(UnsafeMutableRawBufferPointer(rebasing: $0[0..<n]), offset: received, seed: seed) }
                let same = pending.withUnsafeBytes { p in expected.withUnsafeBytes { e in memcmp(p.baseAddress!, e.baseAddress!, n) == 0 } }
                if !same && mismatchAt == nil { mismatchAt = received }
                received += n
                pending.removeFirst(n)
            }
        }
        let end = try client.receive()
        #expect(sendError.value == nil)
        #expect(received == total, "received \(received) of \(total) bytes")
        #expect(mismatchAt == nil, "first differing chunk at offset \(mismatchAt ?? -1)")
        #expect(end.isEmpty, "the echo's FIN follows the last byte")
        if path.engine == .ioUring && path.mode == .auto {
            let moved = harness.counters.reduce(0) { $0 + $1.movedToSplice.load(ordering: .relaxed) }
            #expect(moved == 1, "the bulk connection moved from the ring copy mover to splice")
        }
    }

    @Test("64 clients that do not read while their echoes pile up all get every byte back", .timeLimit(.minutes(1)), arguments: allModes)
    func manyStalledReaders(path: DataPath) throws {
        // With io_uring's ring copy mover, the echoes pile up in the worker's provided buffers: each direction's
        // recv is cancelled at 8 queued buffers and re-armed as the reader drains it, and where the 512 buffers run
        // out (how far they fill depends on the machine's socket buffers) recvs end with -ENOBUFS and are re-armed
        // once buffers come back. Either way every byte must arrive.
        let harness = try Harness(speaks: [.echo], path: path, workers: 1)
        defer { harness.stop() }
        let size = 256 << 10
        var clients: [TestSocket] = []
        for _ in 0..<64 { clients.append(try harness.connect(timeout: 20)) }
        let failures = LockedBox<[String]>([])
        let senders = clients.enumerated().map { k, client in
            Thread {
                do {
                    try client.send(TestData.bytes(count: size, seed: UInt64(k)))
                    client.shutdownWrite()
                } catch {
                    failures.set(failures.value + ["send \(k): \(error)"])
                }
            }
        }
        senders.forEach { $0.start() }
        usleep(300_000)  // the echoes pile up while nobody reads
        for (k, client) in clients.enumerated() {
            let echoed = try client.receive(exactly: size)
            #expect(echoed == TestData.bytes(count: size, seed: UInt64(k)), "client \(k): echo intact")
            #expect(try client.receive().isEmpty, "client \(k): the FIN follows")
        }
        #expect(failures.value.isEmpty, "\(failures.value)")
    }

    @Test("io_uring ring copy: with the provided buffers held by stalled directions, the others read into their own, nothing lost", .timeLimit(.minutes(1)))
    func providedBuffersRunDry() throws {
        // 16 provided buffers for 8 connections through an echo node whose clients send 8 MiB without reading:
        // the client-to-node queues hold them all (the node stops reading while its echoes cannot be sent), so the
        // node-to-client recvs end with -ENOBUFS; waiting for a provided buffer would be a deadlock.
        let harness = try Harness(speaks: [.echo], path: DataPath(.ioUring, .copy), workers: 1, configure: { $0.ringBuffers = 16 })
        defer { harness.stop() }
        let size = 8 << 20
        var clients: [TestSocket] = []
        for _ in 0..<8 { clients.append(try harness.connect(timeout: 20)) }
        let failures = LockedBox<[String]>([])
        let senders = clients.enumerated().map { k, client in
            Thread {
                do {
                    try client.send(TestData.bytes(count: size, seed: UInt64(100 + k)))
                    client.shutdownWrite()
                } catch {
                    failures.set(failures.value + ["send \(k): \(error)"])
                }
            }
        }
        senders.forEach { $0.start() }
        let ranOut = { harness.counters.reduce(0) { $0 + $1.buffersRanOut.load(ordering: .relaxed) } }
        #expect(eventually(within: 10) { ranOut() > 0 }, "the provided buffers ran out")
        for (k, client) in clients.enumerated() {
            let echoed = try client.receive(exactly: size)
            #expect(echoed == TestData.bytes(count: size, seed: UInt64(100 + k)), "client \(k): echo intact")
            #expect(try client.receive().isEmpty, "client \(k): the FIN follows")
        }
        #expect(failures.value.isEmpty, "\(failures.value)")
    }

    @Test("100-byte segments in bursts reach a slow reader complete, without a stall", .timeLimit(.minutes(1)), arguments: allModes)
    func smallSegmentsSlowReader(path: DataPath) throws {
        let harness = try Harness(speaks: [.echo], path: path)
        defer { harness.stop() }
        let client = try harness.connect(timeout: 20)
        client.setNoDelay()
        // A small window (but not below one loopback MSS, where TCP's silly-window avoidance takes over).
        client.setReceiveBuffer(64 * 1024)
        let segments = 20_000
        let payload = TestData.bytes(count: segments * 100, seed: 42)
        let sender = Thread {
            for burst in stride(from: 0, to: segments, by: 50) {
                for k in burst..<min(burst + 50, segments) {
                    try? client.send(Array(payload[(k * 100)..<(k * 100 + 100)]))
                }
                usleep(200)
            }
            client.shutdownWrite()
        }
        sender.start()
        var received: [UInt8] = []
        received.reserveCapacity(payload.count)
        while true {
            let chunk = try client.receive(max: 1500)
            if chunk.isEmpty { break }
            received += chunk
            if received.count % 16_384 < 1500 { usleep(1_000) }  // a slow reader
        }
        #expect(received.count == payload.count)
        #expect(received == payload)
    }

    @Test("messages and bursts sent while the reader stalls arrive in order when its window fills mid-burst", .timeLimit(.minutes(1)), arguments: allModes)
    func burstsIntoAFillingWindow(path: DataPath) throws {
        // A node sends 512-byte messages, each followed by a burst of one copy buffer and a bit, to a client that
        // does not read. In auto mode each message turns the direction back to copying and each burst to splicing,
        // from a full copy buffer; as the way to the client fills, one burst's buffer comes when less than a
        // buffer's room is left, so it is written in part, and the bytes spliced after it must wait for its rest.
        let node = try RawListener(host: "127.0.0.2")
        let harness = try Harness(hosts: ["127.0.0.2"], nodePorts: [node.port], path: path, workers: 1)
        defer { harness.stop() }
        let client = try harness.connect(timeout: 20)
        try client.send("go")
        let server = try node.accept()
        // Enough to fill the balancer's send buffer to the client at its largest (tcp_wmem's maximum) and more.
        let wmem = (try? String(contentsOfFile: "/proc/sys/net/ipv4/tcp_wmem", encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) } ?? 4 << 20
        let message = 512, burst = 16 * 1024 + 512
        let cycles = (wmem + (3 << 20)) / (message + burst)
        let payload = TestData.bytes(count: cycles * (message + burst), seed: 0xB0B5)
        let sent = Atomic<Int>(0)
        let sendError = LockedBox<String?>(nil)
        let sender = Thread {
            do {
                var offset = 0
                for _ in 0..<cycles {
                    for size in [message, burst] {
                        try server.send(Array(payload[offset..<(offset + size)]))
                        offset += size
                        sent.store(offset, ordering: .relaxed)
                        usleep(100)  // each on its own, as the balancer reads
                    }
                }
                server.shutdownWrite()
            } catch {
                sendError.set("\(error)")
            }
        }
        sender.start()
        // The client reads only once the node can send no more (every buffer on the way is full) or is done.
        var last = -1
        while sent.load(ordering: .relaxed) != last && sent.load(ordering: .relaxed) < payload.count {
            last = sent.load(ordering: .relaxed)
            usleep(200_000)
        }
        #expect(last < payload.count, "the way to the client filled: \(last) of \(payload.count) bytes sent")
        var received: [UInt8] = []
        received.reserveCapacity(payload.count)
        while true {
            let chunk = try client.receive(max: 1 << 20)
            if chunk.isEmpty { break }
            received += chunk
        }
        #expect(sendError.value == nil)
        #expect(received.count == payload.count)
        let same = received.count == payload.count && memcmp(received, payload, payload.count) == 0
        let firstDifference = same ? nil : zip(received, payload).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(same, "first differing byte at \(firstDifference ?? -1) of \(payload.count)")
    }

    @Test("GET /bytes/N answers N bytes through the balancer, kept alive", .timeLimit(.minutes(1)), arguments: allModes)
    func sizedResponses(path: DataPath) throws {
        let harness = try Harness(speaks: [.http(service: "q2t")], path: path)
        defer { harness.stop() }
        let client = try harness.connect()
        for size in [0, 1024, 65_536, 1 << 20, 1024] {
            let reply = try HTTPExchange.get("/bytes/\(size)", on: client)
            #expect(reply.status == 200)
            #expect(reply.body.utf8.count == size)
            #expect(reply.body.utf8.allSatisfy { $0 == 0x61 })
        }
    }

    @Test("a short reply is not corked (no SPLICE_F_MORE on the last chunk)", .timeLimit(.minutes(1)), arguments: allModes)
    func shortRepliesAreNotCorked(path: DataPath) throws {
        let harness = try Harness(speaks: [.http(service: "q2t")], path: path)
        defer { harness.stop() }
        let client = try harness.connect()
        let started = monotonicSeconds()
        for _ in 0..<20 {
            let reply = try HTTPExchange.get("/upcheck", on: client)
            #expect(reply.body == "I'm up!")
        }
        // A corked reply waits ~200 ms for more data: 20 round trips would take over 4 s.
        let elapsed = monotonicSeconds() - started
        #expect(elapsed < 2, "20 request/reply round trips took \(elapsed) s")
    }
}

/// A value shared with a helper thread.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func set(_ value: Value) { lock.withLock { stored = value } }
}
