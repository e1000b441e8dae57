import Foundation
import LBTestSupport

/// One long transfer through an echo service: the first half sent at once, the second on request, everything
/// echoed back compared byte for byte. For connections that must outlive a reload or a drain.
final class EchoTransfer: @unchecked Sendable {
    enum Result: Equatable { case exact, short(Int), different(at: Int), failed(String) }

    /// What the reader and sender threads record.
    private final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var bytes: [UInt8] = []
        private var failure: String?
        func append(_ chunk: [UInt8]) { lock.withLock { bytes += chunk } }
        func fail(_ error: any Error) { lock.withLock { failure = failure ?? "\(error)" } }
        var received: [UInt8] { lock.withLock { bytes } }
        var count: Int { lock.withLock { bytes.count } }
        var error: String? { lock.withLock { failure } }
    }

    private let socket: TestSocket
    private let payload: [UInt8]
    private let seen = Seen()
    private let reader: Thread
    private let secondHalf = DispatchSemaphore(value: 0)
    private let sender: Thread

    init(host: String = "127.0.0.1", port: Int, bytes: Int, seed: UInt64) throws {
        let socket = try TestSocket(host: host, port: port, timeout: 30)
        let payload = TestData.bytes(count: bytes, seed: seed)
        let (seen, secondHalf) = (self.seen, self.secondHalf)
        self.socket = socket
        self.payload = payload
        reader = Thread {
            do {
                while true {
                    let chunk = try socket.receive()
                    if chunk.isEmpty { break }
                    seen.append(chunk)
                }
            } catch {
                seen.fail(error)
            }
        }
        sender = Thread {
            do {
                try socket.send(Array(payload[..<(payload.count / 2)]))
                secondHalf.wait()
                try socket.send(Array(payload[(payload.count / 2)...]))
                socket.shutdownWrite()
            } catch {
                seen.fail(error)
            }
        }
        reader.start()
        sender.start()
    }

    /// Whether the first half came back.
    var halfEchoed: Bool { seen.count >= payload.count / 2 }

    func sendSecondHalf() { secondHalf.signal() }

    /// Waits for the echo to end, then compares.
    func finish() -> Result {
        _ = eventually(within: 20) { reader.isFinished }
        if let failure = seen.error { return .failed(failure) }
        let got = seen.received
        if got.count != payload.count { return .short(got.count) }
        if let at = zip(got, payload).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset { return .different(at: at) }
        socket.close()
        return .exact
    }
}
