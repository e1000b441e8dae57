public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The admin listener: HTTP/1.1 on swift-nio's own event loop thread, never on a forwarding worker. It serves
/// `AdminRoutes` and, every 250 ms, lets `StateHistory` look at the nodes so that transitions are recorded
/// when nobody is watching the page.
///
/// Start it after the balancer and stop it before: the workers' counters are read only while they exist.
public final class AdminServer: Sendable {
    public let routes: AdminRoutes
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let running = Mutex<(channel: (any Channel)?, poll: RepeatedTask?)>((nil, nil))

    /// - Parameters:
    ///   - token: when set, control requests need `Authorization: Bearer TOKEN`.
    public init(view: BalancerView, token: String?, logger: Logger) {
        self.routes = AdminRoutes(view: view, history: StateHistory(view: view), token: token, logger: logger)
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Binds `endpoint` and serves until `stop`.
    ///
    /// - Returns: where it listens (the port the kernel chose when `endpoint.port` is 0).
    /// - Throws: the bind error (address in use, not an address of this machine).
    @discardableResult
    public func start(at endpoint: AdminEndpoint) throws -> AdminEndpoint {
        let routes = self.routes
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // An idle or stalled client is closed after 30 s rather than holding a descriptor forever.
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(30)))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(routes: routes))
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .bind(host: endpoint.host, port: endpoint.port)
            .wait()
        let history = routes.history
        history.observe()  // the baseline that later looks compare with
        let poll = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(250)) { _ in
            history.tick()
        }
        running.withLock { $0 = (channel, poll) }
        let bound = AdminEndpoint(host: endpoint.host, port: channel.localAddress?.port ?? endpoint.port)
        logger.info("admin listening", metadata: ["address": "http://\(bound)/", "control": "\(routes.tokenRequired ? "token" : "loopback")"])
        return bound
    }

    /// Closes the listener and its connections, and ends the event loop thread.
    public func stop() {
        let (channel, poll) = running.withLock { running in
            defer { running = (nil, nil) }
            return running
        }
        poll?.cancel()
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Carries one HTTP exchange at a time between NIO and `AdminRoutes` (the pipeline orders pipelined requests).
private final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: AdminRoutes
    private var head: HTTPRequestHead?

    init(routes: AdminRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break  // no endpoint takes a body
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let request = AdminRequest(
            method: head.method.rawValue,
            uri: head.uri,
            headers: head.headers.map { ($0.name, $0.value) },
            peer: context.channel.remoteAddress.map { address in
                let host = address.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "?"
                return "\(host):\(address.port ?? 0)"
            } ?? "?"
        )
        let response = routes.respond(to: request)
        let keepAlive = head.isKeepAlive
        var headers = HTTPHeaders(response.headers)
        headers.add(name: "Content-Length", value: String(response.body.count))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
