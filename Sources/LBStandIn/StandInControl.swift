import LBEngine
import LBSystem
import Glibc

/// The stand-in's control port: one line per connection (`mode up|refuse|hang|fail|reset`, `keys K1,K2`,
/// `version V`), answered `ok` or `error ...`. A blocking accept loop on its own thread, so it works while the node hangs or refuses.
final class StandInControl: Sendable {
    let listener: Int32
    let port: Int
    private let thread = ThreadBox()

    init(host: String, port: Int) throws {
        guard let address = SocketAddress(ipLiteral: host, port: port) else {
            throw SystemError("control address \(host)", errno: EINVAL)
        }
        listener = try Socket.listen(on: address, reusePort: false)
        self.port = Socket.localPort(listener)
        // Blocking accepts on this thread: clear O_NONBLOCK.
        _ = fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) & ~O_NONBLOCK)
    }

    func start(tessera: TesseraModel, apply: @escaping @Sendable (StandInMode) -> Void) {
        let listener = self.listener
        thread.set(WorkerThread {
            while true {
                let fd = Glibc.accept(listener, nil, nil)
                if fd < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    return
                }
                var buffer = [UInt8](repeating: 0, count: 256)
                let n = Glibc.read(fd, &buffer, buffer.count)
                let line = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters() : ""
                let words = line.split(separator: " ")
                let reply: String
                if words.count == 2, words[0] == "mode", let mode = StandInMode(rawValue: String(words[1])) {
                    apply(mode)
                    reply = "ok\n"
                } else if words.count == 2, words[0] == "keys" {
                    tessera.ownKeys = words[1].split(separator: ",").map(String.init)
                    reply = "ok\n"
                } else if words.count == 2, words[0] == "version" {
                    tessera.version = String(words[1])
                    reply = "ok\n"
                } else {
                    reply = "error: expected 'mode up|refuse|hang|fail|reset|wrongbody|slow', 'keys K1,K2' or 'version V'\n"
                }
                _ = reply.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
                Glibc.close(fd)
            }
        })
    }

    func stop() {
        _ = Glibc.shutdown(listener, Int32(SHUT_RDWR))
        thread.join()
        Glibc.close(listener)
    }
}

/// Holds a thread handle set once after init.
private final class ThreadBox: @unchecked Sendable {
    private var thread: WorkerThread?
    func set(_ t: WorkerThread) { thread = t }
    func join() { thread?.join() }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.last, c == "\n" || c == "\r" || c == " " { s = s.dropLast() }
        while let c = s.first, c == " " { s = s.dropFirst() }
        return String(s)
    }
}
