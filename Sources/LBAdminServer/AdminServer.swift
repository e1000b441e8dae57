import Dispatch
public import LBConfig
import LBSystem
public import Logging
public import NIOCore
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
    private let limits: AdminLimits
    private let group: MultiThreadedEventLoopGroup
    private let running = Mutex<(channel: (any Channel)?, poll: RepeatedTask?)>((nil, nil))
    /// The socket `bind` holds until `start` listens on it.
    private let bound = Mutex<(endpoint: AdminEndpoint, fd: Int32)?>(nil)

    /// - Parameters:
    ///   - token: when set, control requests need `Authorization: Bearer TOKEN`.
    ///   - reload: what `POST /reload` does, given who asked (run off the event loop); nil answers 404.
    ///   - limits: how many connections it serves at once and how long each may take.
    public init(
        view: BalancerView, token: String?, logger: Logger, limits: AdminLimits = AdminLimits(),
        reload: (@Sendable (_ from: String) -> ReloadOutcome)? = nil
    ) {
        self.routes = AdminRoutes(view: view, history: StateHistory(view: view), token: token, logger: logger, reload: reload)
        self.logger = logger
        self.limits = limits
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Shows and steers the balancer as a reload left it: its nodes, services and probes. Nodes and services
    /// that stay keep their history.
    public func update(view: BalancerView) {
        routes.update(view: view)
    }

    /// Binds `endpoint` now and listens only in `start`: the address and its descriptor are held from here on,
    /// and a client that connects meanwhile is refused, not queued. `run` binds before the balancer's listeners
    /// open (once they are, clients may take every descriptor) and listens once the balancer forwards, so that
    /// an admin listener that accepts means a balancer that has started.
    ///
    /// - Throws: the bind error (address in use, not an address of this machine).
    public func bind(_ endpoint: AdminEndpoint) throws {
        guard let address = LBSystem.SocketAddress(ipLiteral: endpoint.host, port: endpoint.port) else {
            throw SystemError("bind(\(endpoint))", errno: EINVAL)
        }
        let fd = try Socket.bind(address)
        let previous = bound.withLock { bound in
            defer { bound = (endpoint, fd) }
            return bound
        }
        if let previous { closeDescriptor(previous.fd) }
    }

    /// Binds `endpoint` (unless `bind` did already) and serves until `stop`.
    ///
    /// - Returns: where it listens (the port the kernel chose when `endpoint.port` is 0).
    /// - Throws: the bind error (address in use, not an address of this machine).
    @discardableResult
    public func start(at endpoint: AdminEndpoint) throws -> AdminEndpoint {
        let routes = self.routes
        let limits = cappedLimits()
        let gate = AdminConnectionGate(limit: limits.maxConnections, logger: logger)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                // Past the cap the new socket is closed at once: the admin side never holds more descriptors
                // than that, whatever a client does, and the probes and forwarding keep theirs.
                guard gate.enter() else { return channel.eventLoop.makeFailedFuture(AdminConnectionGate.Refused()) }
                channel.closeFuture.whenComplete { _ in gate.leave() }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.addConnectionHandlers(to: channel.pipeline.syncOperations, routes: routes, limits: limits)
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // Requests are read only while no answer is being written (AdminHTTPHandler asks for each read),
            // and one read at a time: what a client that pipelines and never reads can make us hold is bounded.
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.maxMessagesPerRead, value: 1)
        let reserved = bound.withLock { bound in
            defer { bound = nil }
            return bound
        }
        let channel: any Channel
        if let reserved, reserved.endpoint == endpoint {
            channel = try bootstrap.withBoundSocket(reserved.fd).wait()
        } else {
            if let reserved { closeDescriptor(reserved.fd) }
            channel = try bootstrap.bind(host: endpoint.host, port: endpoint.port).wait()
        }
        let history = routes.history
        history.observe()  // the baseline that later looks compare with
        let poll = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(250)) { _ in
            history.tick()
        }
        running.withLock { $0 = (channel, poll) }
        let bound = AdminEndpoint(host: endpoint.host, port: channel.localAddress?.port ?? endpoint.port)
        logger.info(
            "admin listening",
            metadata: [
                "address": "http://\(bound)/", "control": "\(routes.tokenRequired ? "token" : "loopback")",
                "max_conns": "\(limits.maxConnections)",
            ]
        )
        return bound
    }

    /// The limits, the connection cap lowered to a quarter of the nofile limit if it asks for more: the rest of
    /// the descriptors stay for the probes and forwarding.
    private func cappedLimits() -> AdminLimits {
        var limits = self.limits
        let descriptorLimit = DescriptorLimit.current().soft
        let largest = AdminLimits.largestCap(descriptorLimit: descriptorLimit)
        if limits.maxConnections > largest {
            logger.warning(
                "admin connections capped below --admin-max-conns to keep descriptors for the probes and forwarding",
                metadata: ["max_conns": "\(largest)", "asked": "\(limits.maxConnections)", "nofile": "\(descriptorLimit)"]
            )
            limits.maxConnections = largest
        }
        return limits
    }

    /// Where an answer that may take long (`AdminRoutes.isSlow`) is made.
    @_spi(Fuzzing) public enum SlowAnswers: Sendable {
        /// On another thread, so the event loop keeps serving the pages and probes meanwhile.
        case offEventLoop
        /// On the event loop: only for a channel whose loop is the caller's own thread (an `EmbeddedChannel`,
        /// which must not be touched from another thread).
        case inPlace
    }

    /// Makes one admin connection's pipeline, once past the connection cap: its timeouts, NIO's HTTP/1.1
    /// parser and error handling, and the handler that routes each request. The fuzz target for admin
    /// requests (fuzz/Sources/FuzzAdminRequest) puts these same handlers on an `EmbeddedChannel`.
    @_spi(Fuzzing) public static func addConnectionHandlers(
        to pipeline: ChannelPipeline.SynchronousOperations, routes: AdminRoutes, limits: AdminLimits,
        slowAnswers: SlowAnswers = .offEventLoop
    ) throws {
        try pipeline.addHandler(AdminConnectionClock(limits: limits))
        try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
        try pipeline.addHandler(AdminHTTPHandler(routes: routes, slowAnswers: slowAnswers))
    }

    /// Closes the listener and its connections, and ends the event loop thread.
    public func stop() {
        let (channel, poll) = running.withLock { running in
            defer { running = (nil, nil) }
            return running
        }
        poll?.cancel()
        if let reserved = bound.withLock({ bound in defer { bound = nil }; return bound }) { closeDescriptor(reserved.fd) }
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Carries one HTTP exchange at a time between NIO and `AdminRoutes`, in the order the requests came.
///
/// The channel does not read on its own (autoRead off): this handler asks for the next read only once every
/// request it has is answered and the answer is written to the socket. A client that pipelines requests and
/// never reads its answers thus stops being read; what waits is one answer and the requests of one read.
private final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: AdminRoutes
    private let slowAnswers: AdminServer.SlowAnswers
    private var head: HTTPRequestHead?
    /// Requests read and not yet answered.
    private var waiting = CircularBuffer<HTTPRequestHead>()
    /// An answer is being made or written.
    private var answering = false
    private var closed = false

    init(routes: AdminRoutes, slowAnswers: AdminServer.SlowAnswers) {
        self.routes = routes
        self.slowAnswers = slowAnswers
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        waiting.removeAll()
        context.fireChannelInactive()
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
            waiting.append(head)
            if !answering { answerNext(context: context) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // A partial request (or none): read on.
        if !answering && waiting.isEmpty && !closed { context.read() }
        context.fireChannelReadComplete()
    }

    /// Answers the oldest request waiting, or, with none left, reads again.
    private func answerNext(context: ChannelHandlerContext) {
        guard !closed else { return }
        guard let head = waiting.popFirst() else {
            context.triggerUserOutboundEvent(AdminConnectionClock.Phase.idle, promise: nil)
            context.read()
            return
        }
        answering = true
        context.triggerUserOutboundEvent(AdminConnectionClock.Phase.answering, promise: nil)
        let request = AdminRequest(
            method: head.method.rawValue,
            uri: head.uri,
            headers: head.headers.map { ($0.name, $0.value) },
            peer: context.channel.remoteAddress.map { address in
                let host = address.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "?"
                return "\(host):\(address.port ?? 0)"
            } ?? "?"
        )
        if routes.isSlow(request) && slowAnswers == .offEventLoop {
            // Off the event loop, so a reload (name lookups, thread starts) never stalls the pages and probes;
            // later requests of this connection wait until this answer is written.
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
        guard !closed else { return }
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
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        // Completes when the answer is in the socket's buffer, not when it is queued: only then the next one.
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { result in
            guard case .success = result, keepAlive else {
                channel.close(promise: nil)
                return
            }
            bound.value.handler.answering = false
            bound.value.handler.answerNext(context: bound.value.context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// How many connections the admin listener serves at once and how long each may take.
public struct AdminLimits: Sendable {
    /// Connections served at once; one more is closed as soon as it is accepted.
    public var maxConnections: Int
    /// A request must be complete this long after the connection opened or its first byte came.
    public var requestTimeoutMs: Int64
    /// A kept-alive connection without a request for this long is closed; an answer the client does not
    /// take within this long closes it too.
    public var idleTimeoutMs: Int64

    public static let defaultMaxConnections = 64

    public init(maxConnections: Int = AdminLimits.defaultMaxConnections, requestTimeoutMs: Int64 = 5_000, idleTimeoutMs: Int64 = 30_000) {
        self.maxConnections = maxConnections
        self.requestTimeoutMs = requestTimeoutMs
        self.idleTimeoutMs = idleTimeoutMs
    }

    /// The largest cap a descriptor limit allows: a quarter of it, the rest kept for the probes and forwarding.
    public static func largestCap(descriptorLimit: Int) -> Int {
        max(1, descriptorLimit / 4)
    }
}

/// Counts the admin connections open (on the admin event loop only) and turns away those past the cap, saying
/// so in the log at most once a minute.
private final class AdminConnectionGate: Sendable {
    struct Refused: Error {}

    private let limit: Int
    private let logger: Logger
    private let state = Mutex<(open: Int, refused: Int, loggedAt: UInt64)>((0, 0, 0))

    init(limit: Int, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    func enter() -> Bool {
        let now = DispatchTime.now().uptimeNanoseconds
        let (admitted, report): (Bool, Int?) = state.withLock { state in
            if state.open < limit {
                state.open += 1
                return (true, nil)
            }
            state.refused += 1
            guard state.loggedAt == 0 || now - state.loggedAt >= 60_000_000_000 else { return (false, nil) }
            state.loggedAt = now
            defer { state.refused = 0 }
            return (false, state.refused)
        }
        if let report {
            logger.warning(
                "admin connections at the limit: closing new ones as they come",
                metadata: ["max_conns": "\(limit)", "closed_since_last_said": "\(report)"]
            )
        }
        return admitted
    }

    func leave() {
        state.withLock { $0.open -= 1 }
    }
}

/// Closes an admin connection that takes too long: to send a whole request (from its first byte, or from
/// the connection's start), to send the next one (kept alive), or to take an answer.
private final class AdminConnectionClock: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// What the connection is doing, as `AdminHTTPHandler` tells (a user outbound event).
    enum Phase {
        case idle
        case answering
    }

    private let limits: AdminLimits
    private var idle = false
    private var timer: Scheduled<Void>?

    init(limits: AdminLimits) {
        self.limits = limits
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(limits.requestTimeoutMs, context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if idle {
            // The next request has begun: it has the request timeout, not the idle one.
            idle = false
            arm(limits.requestTimeoutMs, context: context)
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let phase = event as? Phase else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        idle = phase == .idle
        arm(limits.idleTimeoutMs, context: context)
        promise?.succeed(())
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    private func arm(_ ms: Int64, context: ChannelHandlerContext) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: .milliseconds(ms)) { channel.close(promise: nil) }
    }
}
