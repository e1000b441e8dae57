@_spi(Fuzzing) import LBAdminServer
import LBBalancing
import LBForwarding
import Logging
import NIOCore
import NIOEmbedded

/// The input is what a client sends on one admin connection: bytes for NIO's HTTP/1.1 parser, then the admin
/// handler and routes (pages, metrics, node control, reload), with the same handlers the listener installs
/// (`AdminServer.addConnectionHandlers`) on an `EmbeddedChannel` instead of a socket. The bytes arrive in two
/// reads, split in the middle, so requests that span reads and pipelined requests are both covered; then the
/// idle timeout passes and the connection closes. Inputs of even length have an admin token set (the bearer
/// check), odd ones none (the Host and Origin checks); `POST /reload` is applied when the length is a multiple
/// of 3 and rejected otherwise. Each input gets a balancer view of its own, so a node
/// drained by one input is not drained for the next.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let channel = EmbeddedChannel()
    let limits = AdminLimits()
    do {
        try AdminServer.addConnectionHandlers(
            to: channel.pipeline.syncOperations, routes: routes(token: size % 2 == 0 ? "fuzz-token" : nil, reloadApplies: size % 3 == 0),
            limits: limits, slowAnswers: .inPlace
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40_000)).wait()
    } catch {
        fatalError("the admin pipeline could not be set up: \(error)")
    }
    let middle = size / 2
    for part in [bytes[..<middle], bytes[middle...]] where !part.isEmpty && channel.isActive {
        // A parse error is answered (400) and closes the connection: what reaches here is only that error.
        _ = try? channel.writeInbound(channel.allocator.buffer(bytes: part))
    }
    var answered = [UInt8]()
    while let out = try? channel.readOutbound(as: IOData.self) {
        guard case .byteBuffer(let buffer) = out else { fatalError("the admin handler wrote a file region") }
        answered += buffer.readableBytesView
    }
    // Whatever went back is HTTP responses, never an echo of the request or a half-written one.
    precondition(answered.isEmpty || answered.starts(with: Array("HTTP/1.".utf8)), "not an HTTP response")
    channel.embeddedEventLoop.advanceTime(by: .milliseconds(limits.idleTimeoutMs + limits.requestTimeoutMs))
    _ = try? channel.finish(acceptAlreadyClosed: true)
    return 0
}

/// Two nodes and two services, as the test fixtures have them.
private func routes(token: String?, reloadApplies: Bool) -> AdminRoutes {
    let names = ["n1", "n2"]
    let nodes = names.map { NodeState(name: $0) }
    let counters = [WorkerCounters(services: ["p2p", "q2t"], nodes: names)]
    let view = BalancerView(
        services: [
            .init(name: "p2p", listen: "127.0.0.1:9000", nodePort: 9000),
            .init(name: "q2t", listen: "unix:/tmp/tessera-lb-fuzz.ipc", nodePort: 9101),
        ],
        nodes: nodes.enumerated().map { .init(state: $1, host: "127.0.0.\($0 + 2)") },
        engine: "epoll", forwardingMode: .auto, balance: .roundrobin, workers: 1, maxConnections: 16,
        healthEnabled: false, counters: { counters }, openConnections: { 0 }, probeReport: { [] },
        nodesChanged: {}
    )
    let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
    return AdminRoutes(
        view: view, history: StateHistory(view: view), token: token, logger: logger,
        reload: { _ in reloadApplies ? .applied(["nodes added: n3"]) : .rejected("nodes.0.host: \"<x>\" is not an address") }
    )
}
