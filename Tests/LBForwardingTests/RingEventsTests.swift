import Glibc
import LBEngine
import LBSystem
import LBTestSupport
import Testing

/// The io_uring event source against the real kernel: what `unwatch` must do for a closed socket to be released.
@Suite("io_uring event source")
struct RingEventsTests {
    static var ringFlags: IoUring.SetupFlags? {
        if case .usable(let flags, _) = RingSupport.probe() { return flags }
        return nil
    }

    /// Whether `fd` reads end of stream (or a reset) within `seconds`, the event source turning meanwhile as a
    /// worker's loop would.
    private func peerSeesEnd(_ fd: Int32, within seconds: Double, turning events: RingEvents) -> Bool {
        var byte: UInt8 = 0
        return eventually(within: seconds) {
            _ = events.wait(timeoutMilliseconds: 5) { _, _, _ in }
            switch Socket.read(fd, into: &byte, count: 1) {
            case .done(0), .failed: return true
            case .done, .wouldBlock: return false
            }
        }
    }

    /// The case that left sockets open: while a multishot poll's wake-up is queued as task work (the socket
    /// became ready and the worker has not run the ring's task work since), IORING_OP_POLL_REMOVE refuses it
    /// (-EALREADY), so the poll stayed armed and held the socket after close(2): the client never saw the end.
    /// An all-nodes-down test waited 5 s for it, about 1 run in 30 on io_uring splice.
    /// - `sameSubmission`: armed and removed in one submission on a socket with bytes waiting (the wake-up is
    ///   queued while the poll is armed);
    /// - otherwise: armed on a quiet socket, then the client's bytes arrive, then the removal (the worker's
    ///   connecting client that sends its request before the connect fails).
    @Test(
        "a socket unwatched while its poll's wake-up is pending is released when closed: the peer sees the end",
        .enabled(if: ringFlags != nil, "io_uring is not usable here"), arguments: [true, false]
    )
    func unwatchReleasesSocket(sameSubmission: Bool) throws {
        let events = try RingEvents(flags: try #require(Self.ringFlags), capacity: 16, listeners: 0)
        events.begin()
        let (client, server) = try loopbackPair()
        defer { closeDescriptor(client) }
        var request = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        func send() {
            _ = request.withUnsafeMutableBytes { Socket.write(client, from: $0.baseAddress!, count: $0.count) }
            usleep(10_000)  // in the server socket's queue
        }
        let token = EventToken(slot: 1, generation: 7, side: .client)
        if sameSubmission {
            send()
            try events.watch(server, token: token)
        } else {
            try events.watch(server, token: token)
            _ = events.wait(timeoutMilliseconds: 0) { _, _, _ in }  // armed on a socket with nothing to read
            send()  // its wake-up is queued now, to run when this thread next enters the ring
        }
        events.unwatch(server, token: token)
        events.submitBeforeClosing()
        closeDescriptor(server)
        #expect(peerSeesEnd(client, within: 2, turning: events), "the closed socket is released and the client sees its end")
    }
}
