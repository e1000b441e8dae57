import Foundation

/// Clients that keep sending requests through the balancer, each on a new connection (`Connection: close`),
/// and record what they saw: who answered, or how it failed. Bounded in time and in count.
public final class LoadClients: @unchecked Sendable {
    public struct Outcome: Sendable {
        /// Seconds since the load started, when the request started.
        public let at: Double
        /// Seconds since the load started, when it ended (answered or failed).
        public let end: Double
        /// The node that answered, or nil on failure.
        public let node: String?
        public let failure: String?
    }

    private let lock = NSLock()
    private var outcomes: [Outcome] = []
    private var stopped = false
    private var threads: [Thread] = []
    private let started = monotonicSeconds()

    /// Starts `clients` threads sending `GET path` to `host:port`, each request with `timeout` seconds; after a
    /// failure a client waits `pauseAfterFailure` seconds, as a real one would, rather than spin on a refused port.
    public init(host: String = "127.0.0.1", port: Int, path: String = "/send", clients: Int = 4, timeout: Double = 1,
                maxSeconds: Double = 60, maxRequests: Int = 200_000, pauseAfterFailure: Double = 0) {
        for _ in 0..<clients {
            let thread = Thread { [self] in
                while !isStopped && elapsed < maxSeconds && count < maxRequests {
                    let at = elapsed
                    do {
                        let socket = try TestSocket(host: host, port: port, timeout: timeout)
                        let reply = try HTTPExchange.get(path, on: socket, close: true)
                        record(Outcome(at: at, end: elapsed, node: reply.status == 200 ? reply.node : nil, failure: reply.status == 200 ? nil : "status \(reply.status)"))
                    } catch {
                        record(Outcome(at: at, end: elapsed, node: nil, failure: "\(error)"))
                        if pauseAfterFailure > 0 { usleep(useconds_t(pauseAfterFailure * 1e6)) }
                    }
                }
            }
            threads.append(thread)
            thread.start()
        }
    }

    public var elapsed: Double { monotonicSeconds() - started }
    private var isStopped: Bool { lock.withLock { stopped } }
    public var count: Int { lock.withLock { outcomes.count } }
    private func record(_ outcome: Outcome) { lock.withLock { outcomes.append(outcome) } }

    /// Everything recorded so far.
    public var all: [Outcome] { lock.withLock { outcomes } }

    /// Requests started in `[from, to)` seconds.
    public func between(_ from: Double, _ to: Double = .infinity) -> [Outcome] { all.filter { $0.at >= from && $0.at < to } }

    /// Stops the clients (each finishes its current request) and waits for them.
    public func stop() {
        lock.withLock { stopped = true }
        _ = eventually(within: 10) { threads.allSatisfy { $0.isFinished } }
    }

    deinit { stop() }
}
