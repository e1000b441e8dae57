import Glibc
import LBSystem

/// A connected TCP pair on loopback made with the data path's own calls: `client` from a non-blocking connect,
/// `server` the socket the listener accepted (non-blocking too). `clientNoDelay` is the client's TCP_NODELAY;
/// `serverNoDelay` the listener's, which the accepted socket inherits (false leaves the kernel's default, for
/// tests that set options themselves and read them back).
public func loopbackPair(clientNoDelay: Bool = true, serverNoDelay: Bool = true) throws -> (client: Int32, server: Int32) {
    let listener = try Socket.listen(on: SocketAddress(ipLiteral: "127.0.0.1", port: 0)!, reusePort: false, noDelay: serverNoDelay)
    defer { closeDescriptor(listener) }
    let (client, _) = try Socket.connect(
        to: SocketAddress(ipLiteral: "127.0.0.1", port: Socket.localPort(listener))!, noDelay: clientNoDelay
    )
    var server: Int32 = -1
    _ = eventually {
        if case .done(let fd) = Socket.accept(listener) { server = Int32(fd) }
        return server >= 0
    }
    guard server >= 0 else {
        closeDescriptor(client)
        throw LoopbackPairError()
    }
    return (client, server)
}

/// The listener accepted nothing within `eventually`'s five seconds.
public struct LoopbackPairError: Error, CustomStringConvertible {
    public var description: String { "loopbackPair: the listener accepted nothing in 5 s" }
}
