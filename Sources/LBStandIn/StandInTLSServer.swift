import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The stand-in's HTTPS port, for nodes whose P2P server uses TLS (Tessera's `sslConfig` with `tls: STRICT`,
/// `clientAuth: true` by default): answers `GET /upcheck` with `I'm up!` over TLS, and requires a client
/// certificate signed by `clientCAFile` when one is given (mutual TLS). Built on swift-nio-ssl: this port is
/// for health tests, not for speed.
public final class StandInTLSServer: Sendable {
    private let channel: any Channel
    /// The port bound (a requested 0 becomes the kernel's choice).
    public let port: Int

    /// - Throws: when the certificate or key cannot be read, or the port cannot be bound.
    public init(host: String, port: Int = 0, certificateFile: String, keyFile: String, clientCAFile: String? = nil) throws {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        )
        if let clientCAFile {
            tls.trustRoots = .file(clientCAFile)
            tls.certificateVerification = .noHostnameVerification
        }
        let context = try NIOSSLContext(configuration: tls)
        channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(UpcheckHandler())
                }
            }
            .bind(host: host, port: port)
            .wait()
        self.port = channel.localAddress?.port ?? port
    }

    /// Closes the listener.
    public func stop() {
        try? channel.close().wait()
    }
}

/// Answers every request: `/upcheck` with 200 `I'm up!`, anything else with 404.
private final class UpcheckHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let found = head.uri.hasPrefix("/upcheck")
        let body = found ? "I'm up!" : "not found"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        let response = HTTPResponseHead(version: head.version, status: found ? .ok : .notFound, headers: headers)
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
