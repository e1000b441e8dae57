import LBSystem
import Synchronization
import Glibc

/// One stand-in thread: level-triggered epoll over its own listeners and the connections it accepted.
final class StandInWorker: @unchecked Sendable {
    private final class Connection {
        let fd: Int32
        let portIndex: Int
        var input: [UInt8] = []
        var output: [UInt8] = []
        var written = 0
        var peerClosed = false
        var closeWhenFlushed = false
        var wantsWrite = false
        init(fd: Int32, portIndex: Int) {
            self.fd = fd
            self.portIndex = portIndex
        }
    }

    private let host: String
    private var ports: [StandInNode.Port]
    private var listeners: [Int32]
    private let responders: [HTTPResponder?]
    private let epoll: Epoll
    private let wakeFd: Int32
    private var connections: [Int32: Connection] = [:]
    private var appliedMode = StandInMode.up
    /// The mode this worker has applied, for `StandInNode.setMode` to wait on.
    let applied = Atomic<Int>(StandInMode.up.code)
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    private static let wakeToken: UInt64 = 1 << 62
    private static let listenerBase: UInt64 = 1 << 61

    init(name: String, host: String, ports: [StandInNode.Port], model: TesseraModel) throws {
        self.host = host
        self.ports = ports
        epoll = try Epoll(capacity: 256)
        wakeFd = try EventFd.make()
        responders = ports.map { port in
            if case .http(let service) = port.speaks { return HTTPResponder(node: name, service: service, model: model) }
            return nil
        }
        listeners = []
        try epoll.add(wakeFd, events: Epoll.readable, data: Self.wakeToken)
        try openListeners()
    }

    func boundPort(_ i: Int) -> Int { ports[i].port }

    func wake() { EventFd.signal(wakeFd) }

    private func openListeners() throws {
        listeners = []
        for i in ports.indices {
            guard let address = SocketAddress(ipLiteral: host, port: ports[i].port) else {
                throw SystemError("stand-in address \(host)", errno: EINVAL)
            }
            let fd = try Socket.listen(
                on: ports[i].port == 0 ? address.withPort(try Socket.unusedPort(on: address)) : address, reusePort: true, noDelay: true
            )
            if ports[i].port == 0 { ports[i].port = Socket.localPort(fd) }
            try epoll.add(fd, events: Epoll.readable, data: Self.listenerBase | UInt64(i))
            listeners.append(fd)
        }
    }

    private func closeListeners() {
        for fd in listeners { closeDescriptor(fd) }
        listeners = []
    }

    // MARK: - Loop

    func run(state node: StandInState) {
        while !node.stopping.load(ordering: .relaxed) {
            let mode = node.mode
            if mode != appliedMode { apply(mode) }
            if mode == .hang {
                // Under SIGSTOP nothing is read or accepted; only the wake-up matters.
                var pfd = pollfd(fd: wakeFd, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, -1)
                EventFd.drain(wakeFd)
                continue
            }
            _ = epoll.wait(timeoutMilliseconds: -1) { events, data in
                if data == Self.wakeToken {
                    EventFd.drain(wakeFd)
                } else if data & Self.listenerBase != 0 {
                    accept(Int(data & 0xFFFF), node: node)
                } else {
                    service(Int32(truncatingIfNeeded: data), events: events, node: node)
                }
            }
        }
        for fd in Array(connections.keys) { close(fd, reset: false) }
        closeListeners()
        closeDescriptor(wakeFd)
    }

    private func apply(_ mode: StandInMode) {
        if appliedMode == .refuse && listeners.isEmpty { try? openListeners() }
        switch mode {
        case .refuse:
            closeListeners()
            for fd in Array(connections.keys) { close(fd, reset: true) }
        case .reset:
            for fd in Array(connections.keys) { close(fd, reset: true) }
        case .up, .hang, .fail, .wrongbody, .slow:
            break
        }
        appliedMode = mode
        applied.store(mode.code, ordering: .relaxed)
    }

    private func accept(_ i: Int, node: StandInState) {
        guard i < listeners.count else { return }
        while true {
            guard case .done(let raw) = Socket.accept(listeners[i]) else { return }
            let fd = Int32(truncatingIfNeeded: raw)
            node.accepted.add(1, ordering: .relaxed)
            if appliedMode == .reset {
                Socket.closeWithReset(fd)
                continue
            }
            Socket.setNoDelay(fd)
            connections[fd] = Connection(fd: fd, portIndex: i)
            do {
                try epoll.add(fd, events: Epoll.readable | Epoll.readHangUp, data: UInt64(UInt32(bitPattern: fd)))
            } catch {
                close(fd, reset: false)
            }
        }
    }

    private func service(_ fd: Int32, events: UInt32, node: StandInState) {
        guard let c = connections[fd] else { return }
        if events & Epoll.error != 0 {
            close(fd, reset: false)
            return
        }
        if events & Epoll.writable != 0 { flush(c) }
        if events & (Epoll.readable | Epoll.readHangUp | Epoll.hangUp) != 0 && !c.wantsWrite && !c.peerClosed {
            read(c, node: node)
        }
        finishIfDone(c)
    }

    private func read(_ c: Connection, node: StandInState) {
        let n = readBuffer.withUnsafeMutableBytes { Socket.read(c.fd, into: $0.baseAddress!, count: $0.count) }
        switch n {
        case .done(0):
            c.peerClosed = true
        case .done(let count):
            if appliedMode == .slow { usleep(2_000_000) }  // this worker stalls: every answer is late
            if let responder = responders[c.portIndex] {
                if c.input.isEmpty {
                    // The usual case: whole requests in one read, parsed where they landed.
                    let used = readBuffer.withUnsafeBytes { answer(c, responder, UnsafeRawBufferPointer(rebasing: $0[0..<count]), node: node) }
                    if used < count { c.input.append(contentsOf: readBuffer[used..<count]) }
                } else {
                    c.input.append(contentsOf: readBuffer[0..<count])
                    let used = c.input.withUnsafeBytes { answer(c, responder, $0, node: node) }
                    c.input.removeFirst(used)
                }
            } else {
                c.output.append(contentsOf: readBuffer[0..<count])  // echo
            }
            flush(c)
        case .wouldBlock:
            break
        case .failed:
            close(c.fd, reset: false)
        }
    }

    /// Answers every complete request in `input`; returns how many bytes were consumed.
    private func answer(_ c: Connection, _ responder: HTTPResponder, _ input: UnsafeRawBufferPointer, node: StandInState) -> Int {
        var consumed = 0
        while consumed < input.count && !c.closeWhenFlushed {
            let rest = UnsafeRawBufferPointer(rebasing: input[consumed...])
            switch responder.answer(rest, mode: appliedMode, into: &c.output) {
            case .answered(let used, let close):
                consumed += used
                node.requests.add(1, ordering: .relaxed)
                if close { c.closeWhenFlushed = true }
            case .incomplete:
                return consumed
            case .malformed:
                c.output.append(contentsOf: HTTPResponder.badRequest)
                c.closeWhenFlushed = true
                return input.count
            }
        }
        return consumed
    }

    private func flush(_ c: Connection) {
        while c.written < c.output.count {
            let result = c.output.withUnsafeBytes { Socket.write(c.fd, from: $0.baseAddress! + c.written, count: $0.count - c.written) }
            switch result {
            case .done(let n):
                c.written += n
            case .wouldBlock:
                setWantsWrite(c, true)
                return
            case .failed:
                c.output.removeAll()
                c.written = 0
                c.peerClosed = true
                c.closeWhenFlushed = true
                return
            }
        }
        c.output.removeAll(keepingCapacity: c.output.capacity <= 256 * 1024)
        c.written = 0
        setWantsWrite(c, false)
    }

    /// Backpressure: while output waits, stop reading (level-triggered: watch writability instead).
    private func setWantsWrite(_ c: Connection, _ wants: Bool) {
        guard c.wantsWrite != wants else { return }
        c.wantsWrite = wants
        let events = wants ? Epoll.writable : (Epoll.readable | Epoll.readHangUp)
        try? epoll.modify(c.fd, events: events, data: UInt64(UInt32(bitPattern: c.fd)))
    }

    private func finishIfDone(_ c: Connection) {
        guard connections[c.fd] != nil, !c.wantsWrite else { return }
        if c.closeWhenFlushed && c.output.isEmpty {
            close(c.fd, reset: false)
        } else if c.peerClosed && c.output.isEmpty {
            if responders[c.portIndex] == nil {
                // Echo: pass the half-close on, then wait for nothing more.
                Socket.shutdownWrite(c.fd)
            }
            close(c.fd, reset: false)
        }
    }

    private func close(_ fd: Int32, reset: Bool) {
        connections[fd] = nil
        if reset { Socket.closeWithReset(fd) } else { closeDescriptor(fd) }
    }
}
