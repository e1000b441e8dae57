import Glibc
import LBSystem
import LBTestSupport
import Testing

/// The kernel behaviour the data path is built on, checked against the real kernel.
@Suite("kernel facts")
struct KernelFactsTests {
    @Test("splice's EAGAIN can mean 'pipe full by slots' while the socket still holds data")
    func eagainIsAmbiguous() throws {
        let (client, server) = try loopbackPair()
        defer { closeDescriptor(client); closeDescriptor(server) }
        // 64 segments of 100 bytes, each its own skb (TCP_NODELAY, written one by one).
        var segment = [UInt8](repeating: 0x5A, count: 100)
        for _ in 0..<64 {
            _ = segment.withUnsafeMutableBytes { Socket.write(client, from: $0.baseAddress!, count: 100) }
            usleep(200)
        }
        let pipe = try Pipe.make()
        defer { closeDescriptor(pipe.read); closeDescriptor(pipe.write) }
        _ = Pipe.setCapacity(pipe.write, bytes: 4096)  // one page: one slot
        #expect(Pipe.capacity(pipe.write) == 4096)
        var inPipe = 0
        _ = eventually {
            if case .done(let n) = Pipe.splice(from: server, to: pipe.write, count: 1 << 20) { inPipe += n }
            return inPipe > 0
        }
        #expect(inPipe > 0 && inPipe < 6400, "the pipe filled by slots, not bytes: \(inPipe) bytes")
        #expect(Pipe.splice(from: server, to: pipe.write, count: 1 << 20) == .wouldBlock, "EAGAIN with data still queued")
        // Drain the pipe: the socket was not empty, so splicing again moves more.
        var sink = [UInt8](repeating: 0, count: 8192)
        _ = sink.withUnsafeMutableBytes { Socket.read(pipe.read, into: $0.baseAddress!, count: 8192) }
        guard case .done(let more) = Pipe.splice(from: server, to: pipe.write, count: 1 << 20) else {
            Issue.record("after draining the pipe, the socket still had bytes to splice")
            return
        }
        #expect(more > 0)
        segment[0] = 0
    }

    @Test("an accepted socket inherits TCP_NODELAY from its listener")
    func noDelayInherited() throws {
        let listener = try Socket.listen(on: SocketAddress(ipLiteral: "127.0.0.1", port: 0)!, reusePort: false, noDelay: true)
        defer { closeDescriptor(listener) }
        #expect(Socket.noDelay(listener))
        let (client, _) = try Socket.connect(to: SocketAddress(ipLiteral: "127.0.0.1", port: Socket.localPort(listener))!)
        defer { closeDescriptor(client) }
        #expect(Socket.noDelay(client), "Socket.connect sets TCP_NODELAY on the node side")
        var server: Int32 = -1
        _ = eventually {
            if case .done(let fd) = Socket.accept(listener) { server = Int32(fd) }
            return server >= 0
        }
        defer { closeDescriptor(server) }
        #expect(Socket.noDelay(server), "no setsockopt per accepted client is needed")
    }

    @Test("end of stream from splice is 0, after every byte before the FIN")
    func spliceEndOfStream() throws {
        let (client, server) = try loopbackPair()
        defer { closeDescriptor(server) }
        var bytes = [UInt8](repeating: 1, count: 1000)
        _ = bytes.withUnsafeMutableBytes { Socket.write(client, from: $0.baseAddress!, count: 1000) }
        closeDescriptor(client)
        let pipe = try Pipe.make()
        defer { closeDescriptor(pipe.read); closeDescriptor(pipe.write) }
        var total = 0
        var sawEnd = false
        _ = eventually {
            switch Pipe.splice(from: server, to: pipe.write, count: 1 << 20) {
            case .done(0): sawEnd = true
            case .done(let n): total += n
            default: break
            }
            return sawEnd
        }
        #expect(total == 1000)
        #expect(sawEnd)
    }

    @Test("a socket address round-trips IPv4, IPv6 and unix forms", arguments: [
        ("127.0.0.1", "127.0.0.1:9000"), ("::1", "[::1]:9000"), ("[::1]", "[::1]:9000"), ("10.1.2.3", "10.1.2.3:9000"),
    ])
    func addresses(literal: String, printed: String) {
        #expect(SocketAddress(ipLiteral: literal, port: 9000)?.description == printed)
        #expect(SocketAddress(ipLiteral: literal, port: 1)?.withPort(9000).description == printed)
    }

    @Test("a host name resolves")
    func resolves() throws {
        let addresses = try SocketAddress.resolve(host: "localhost", port: 9000)
        #expect(!addresses.isEmpty)
        #expect(addresses.allSatisfy { $0.port == 9000 })
        #expect(throws: SystemError.self) { try SocketAddress.resolve(host: "no-such-host.invalid", port: 1) }
    }
}
