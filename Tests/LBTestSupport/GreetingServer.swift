import Foundation
import Glibc
import Synchronization

/// A TCP server that speaks first and not HTTP, as an SSH, SMTP or database server at a port given by mistake:
/// it writes `greeting` to every connection, ends its side, and reads until the client closes (so the client
/// reads the greeting rather than a reset). Each connection is served on its own thread; bounded in
/// connections and in time.
public final class GreetingServer: @unchecked Sendable {
    public let port: Int
    public let host: String
    private let listener: RawListener
    private let stopped = StopFlag()
    private let acceptLoop: Thread

    /// Starts serving on `host` (a port the kernel chooses).
    ///
    /// - Parameters:
    ///   - maxConnections: connections served before the server stops accepting.
    ///   - maxSeconds: how long it accepts at most.
    /// - Throws: `TestSocket.Failure` when it cannot listen.
    public init(greeting: String, host: String = "127.0.0.1", maxConnections: Int = 1_000, maxSeconds: Double = 60) throws {
        let listener = try RawListener(host: host)
        self.listener = listener
        self.host = host
        port = listener.port
        let stopped = self.stopped
        let until = monotonicSeconds() + maxSeconds
        acceptLoop = Thread {
            var served = 0
            while !stopped.value.load(ordering: .relaxed) && served < maxConnections && monotonicSeconds() < until {
                guard let connection = try? listener.accept(timeout: 0.1) else { continue }
                served += 1
                // accept(timeout:) sets whole seconds of receive timeout (0 here, none): set one.
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(connection.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                Thread.detachNewThread {
                    try? connection.send(greeting)
                    connection.shutdownWrite()
                    _ = try? connection.receiveAll()  // until the client closes, 5 s at most
                    connection.close()
                }
            }
        }
        acceptLoop.start()
    }

    /// Stops accepting (within 0.1 s) and waits for the accept loop.
    public func stop() {
        stopped.value.store(true, ordering: .relaxed)
        _ = eventually(within: 5) { acceptLoop.isFinished }
    }

    deinit { stop() }
}

/// The stop flag, shared with the accept thread (an Atomic cannot be captured by copy).
private final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}
