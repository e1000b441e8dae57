import Dispatch
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
    ///   - reload: what `POST /reload` does, given who asked (run off the event loop); nil answers 404.
    public init(
        view: BalancerView, token: String?, logger: Logger, reload: (@Sendable (_ from: String) -> ReloadOutcome)? = nil
    ) {
        self.routes = AdminRoutes(view: view, history: StateHistory(view: view), token: token, logger: logger, reload: reload)
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Shows and steers the balancer as a reload left it: its nodes, services and probes. Nodes and services
    /// that stay keep their history.
    public func update(view: BalancerView) {
        routes.update(view: view)
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
        if routes.isSlow(request) {
            // Off the event loop, so a reload (name lookups, thread starts) never stalls the pages and probes;
            // the HTTP pipeline holds later requests of this connection until this answer is written.
            let loop = context.eventLoop
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
            let routes = self.routes
            DispatchQueue.global().async {
                let response = routes.respond(to: request)
                loop.execute { bound.value.handler.write(response, for: head, context: bound.value.context) }
            }
            return
        }
        write(routes.respond(to: request), for: head, context: context)
    }

    private func write(_ response: AdminResponse, for head: HTTPRequestHead, context: ChannelHandlerContext) {
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
