import Glibc
import LBEngine
@testable import LBForwarding
import LBSystem
import LBTestSupport
import Testing

/// The socket calls the io_uring engine queues on its ring instead of making them (`RingSocketCalls`): which the
/// probe finds, what the worker uses of them, and that each does on a real socket what its system call does.
@Suite("ring socket calls")
struct RingSocketCallsTests {
    typealias Support = RingSocketCalls.Support

    @Test("setsockopt and connect ride the ring only with close (a queued request must not outlive its number)")
    func effectiveNeedsClose() {
        #expect(Support.all.effective == .all)
        #expect(Support([.close]).effective == [.close])
        #expect(Support([.setOptions]).effective == [])
        #expect(Support([.connect, .setOptions]).effective == [])
        #expect(Support([.connect, .close]).effective == [.connect, .close])
        #expect(Support([]).effective == [])
    }

    @Test("the test hook's list names the calls; unknown names and spaces are ignored")
    func namedCalls() {
        #expect(Support.named("setsockopt,close,connect") == .all)
        #expect(Support.named("setsockopt, close , connect") == .all)
        #expect(Support.named("setsockopt,close") == [.setOptions, .close])
        #expect(Support.named("close") == [.close])
        #expect(Support.named("") == [])
        #expect(Support.named("accept,shutdown") == [])
        #expect("\(Support.all)" == "setsockopt, close, connect")
        #expect("\(Support([.close]))" == "close")
        #expect("\(Support([]))" == "none")
    }

    @Test("the probe finds each call on a kernel that has it (connect 5.5, close 5.6, setsockopt 6.7)")
    func probeFindsWhatTheKernelHas() throws {
        let found = RingSocketCalls.probe()
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        try #require(parts.count == 2, "kernel release \(release)")
        let version = parts[0] * 100 + parts[1]
        #expect(found.contains(.close) == (version >= 506), "found \(found) on \(release)")
        #expect(found.contains(.setOptions) == (version >= 607), "found \(found) on \(release)")
        #expect(found.contains(.connect) == (version >= 505), "found \(found) on \(release)")
    }

    private func options(of fd: Int32, _ list: [Socket.IntOption]) -> [Int32?] {
        list.map { Socket.intOption(fd, level: $0.level, name: $0.name) }
    }

    @Test(
        "a node socket gets the same options from the ring's requests as from the direct calls",
        arguments: [(10_000, 30), (0, 30), (2_000, 0), (0, 0)]
    )
    func ringOptionsMatchDirectCalls(userTimeoutMs: Int, keepaliveIdleSeconds: Int) throws {
        try #require(RingSocketCalls.probe().contains(.setOptions), "this kernel has no setsockopt on the ring")
        let list = Socket.nodeOptions(userTimeoutMs: userTimeoutMs, keepaliveIdleSeconds: keepaliveIdleSeconds)
        // What epoll's path sets: TCP_NODELAY in connect, the rest in `bound`.
        let (direct, directPeer) = try loopbackPair(clientNoDelay: true, serverNoDelay: false)
        defer { closeDescriptor(direct); closeDescriptor(directPeer) }
        Socket.bound(direct, userTimeoutMs: userTimeoutMs, keepaliveIdleSeconds: keepaliveIdleSeconds)
        #expect(options(of: direct, list) == list.map(\.value), "the list says what the direct calls set")

        let (queued, queuedPeer) = try loopbackPair(clientNoDelay: false, serverNoDelay: false)
        defer { closeDescriptor(queued); closeDescriptor(queuedPeer) }
        let ring = try IoUring(entries: 16, completionEntries: 32, flags: [])
        let calls = RingSocketCalls(ring: ring, support: .all, nodeOptions: list)
        let before = options(of: queued, list)
        calls.setNodeOptions(queued)
        #expect(options(of: queued, list) == before, "nothing happens before the requests are submitted")
        ring.submitAndWait(timeoutMilliseconds: 0)
        #expect(options(of: queued, list) == list.map(\.value))
        var failures = 0
        _ = ring.reap { _, _, _ in failures += 1 }
        #expect(failures == 0, "a request that succeeds posts no completion")
    }

    @Test("a close on the ring keeps the number taken until it is submitted, then frees it")
    func closeOnTheRing() throws {
        try #require(RingSocketCalls.probe().contains(.close), "this kernel has no close on the ring")
        let (client, server) = try loopbackPair(serverNoDelay: false)
        defer { closeDescriptor(server) }
        let ring = try IoUring(entries: 16, completionEntries: 32, flags: [])
        let calls = RingSocketCalls(ring: ring, support: .all, nodeOptions: [])
        #expect(!calls.submitClosed(), "nothing queued, nothing to submit")
        calls.close(client, reset: false)
        #expect(fcntl(client, F_GETFD) >= 0, "still open while queued")
        #expect(calls.submitClosed(), "the queued close is submitted")
        #expect(!calls.submitClosed(), "once")
        var byte: UInt8 = 0
        #expect(eventually { read(server, &byte, 1) == 0 }, "the peer sees the FIN")
    }

    @Test("a reset close on the ring sends a reset, not a FIN")
    func resetOnTheRing() throws {
        try #require(RingSocketCalls.probe().contains(.close), "this kernel has no close on the ring")
        let (client, server) = try loopbackPair(serverNoDelay: false)
        defer { closeDescriptor(server) }
        let ring = try IoUring(entries: 16, completionEntries: 32, flags: [])
        let calls = RingSocketCalls(ring: ring, support: .all, nodeOptions: [])
        calls.close(client, reset: true)
        ring.submitAndWait(timeoutMilliseconds: 0)
        var byte: UInt8 = 0
        #expect(eventually { read(server, &byte, 1) == -1 && errno == ECONNRESET })
    }

    @Test("a connect on the ring connects to the address of its service and node, and says so in its completion")
    func connectOnTheRing() throws {
        try #require(RingSocketCalls.probe().contains(.connect), "this kernel has no connect on the ring")
        let listeners = try (0..<2).map { _ in
            try Socket.listen(on: SocketAddress(ipLiteral: "127.0.0.1", port: 0)!, reusePort: false, backlog: 4)
        }
        defer { listeners.forEach { closeDescriptor($0) } }
        let addresses = listeners.map { SocketAddress(ipLiteral: "127.0.0.1", port: Socket.localPort($0))! }
        let ring = try IoUring(entries: 16, completionEntries: 32, flags: [])
        let calls = RingSocketCalls(ring: ring, support: .all, nodeOptions: [], connectAddresses: [addresses])
        #expect(calls.connects)
        let socket = Socket.openStream(family: .ipv4)
        try #require(socket >= 0)
        defer { closeDescriptor(socket) }
        calls.connect(socket, service: 0, node: 1, userData: 42)
        ring.submitAndWait(timeoutMilliseconds: 2_000)
        var outcome: [(UInt64, Int32)] = []
        #expect(eventually { _ = ring.reap { u, r, _ in outcome.append((u, r)) }; return !outcome.isEmpty })
        #expect(outcome.map(\.0) == [42] && outcome.map(\.1) == [0], "\(outcome)")
        let accepted = Socket.accept(listeners[1])
        if case .done(let fd) = accepted { closeDescriptor(Int32(fd)) } else { Issue.record("the second listener has the connection: \(accepted)") }
    }

    @Test("a refused connect on the ring completes with -ECONNREFUSED; a cancelled one with -ECANCELED")
    func refusedAndCancelled() throws {
        try #require(RingSocketCalls.probe().contains(.connect), "this kernel has no connect on the ring")
        // A bound socket that does not listen refuses; an address in TEST-NET-1 (via a route that drops) is
        // not reachable from a test, so the cancelled one connects to a full backlog instead.
        let refusing = try Socket.bind(SocketAddress(ipLiteral: "127.0.0.1", port: 0)!)
        defer { closeDescriptor(refusing) }
        let full = try Socket.listen(on: SocketAddress(ipLiteral: "127.0.0.1", port: 0)!, reusePort: false, backlog: 0)
        defer { closeDescriptor(full) }
        let fullAddress = SocketAddress(ipLiteral: "127.0.0.1", port: Socket.localPort(full))!
        // Fill the backlog (0 admits one) so that the next SYN is dropped and its connect waits.
        var fillers: [Int32] = []
        defer { fillers.forEach { closeDescriptor($0) } }
        for _ in 0..<2 {
            let (fd, _) = try Socket.connect(to: fullAddress)
            fillers.append(fd)
        }
        usleep(100_000)
        let addresses = [SocketAddress(ipLiteral: "127.0.0.1", port: Socket.localPort(refusing))!, fullAddress]
        let ring = try IoUring(entries: 16, completionEntries: 32, flags: [])
        let calls = RingSocketCalls(ring: ring, support: .all, nodeOptions: [], connectAddresses: [addresses])
        let a = Socket.openStream(family: .ipv4), b = Socket.openStream(family: .ipv4)
        defer { closeDescriptor(a); closeDescriptor(b) }
        calls.connect(a, service: 0, node: 0, userData: 1)
        calls.connect(b, service: 0, node: 1, userData: 2)
        ring.submitAndWait(timeoutMilliseconds: 0)
        var outcome: [UInt64: Int32] = [:]
        #expect(eventually { _ = ring.reap { u, r, _ in outcome[u] = r }; return outcome[1] != nil })
        #expect(outcome[1] == -ECONNREFUSED, "\(outcome)")
        usleep(200_000)
        _ = ring.reap { u, r, _ in outcome[u] = r }
        #expect(outcome[2] == nil, "the connect to a full backlog waits: \(outcome)")
        ring.prepareCancel(2, userData: 3)
        ring.submitAndWait(timeoutMilliseconds: 0)
        #expect(eventually { _ = ring.reap { u, r, _ in outcome[u] = r }; return outcome[2] != nil })
        #expect(outcome[2] == -ECANCELED, "\(outcome)")
    }
}
