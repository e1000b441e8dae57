import LBEngine
import LBSystem

/// Edge-triggered epoll as a worker's event source (see `EventSource`).
final class EpollEvents: EventSource {
    static let deliversAcceptedSockets = false
    var requestRing: IoUring? { nil }
    private let epoll: Epoll

    /// Both directions, hang-ups, edge-triggered: registered once, never modified in the steady state.
    static let socketEvents = Epoll.readable | Epoll.writable | Epoll.readHangUp | Epoll.edgeTriggered

    init() throws(SystemError) {
        epoll = try Epoll(capacity: 512)
    }

    func begin() {}

    func watchWake(_ fd: Int32) throws(SystemError) {
        try epoll.add(fd, events: Epoll.readable | Epoll.edgeTriggered, data: EventToken.wake.raw)
    }

    @inline(__always)
    func watch(_ fd: Int32, token: EventToken) throws(SystemError) {
        try epoll.add(fd, events: Self.socketEvents, data: token.raw)
    }

    /// Closing the socket removes it from the interest list (no descriptor is ever duplicated here).
    @inline(__always)
    func unwatch(_ fd: Int32, token: EventToken) {}

    /// epoll queues nothing that names a descriptor.
    @inline(__always)
    func submitBeforeClosing() {}

    func rewatch(_ fd: Int32, from old: EventToken, to new: EventToken) throws(SystemError) {
        try epoll.modify(fd, events: Self.socketEvents, data: new.raw)
    }

    func addListener(_ fd: Int32, index: Int) throws(SystemError) {
        try epoll.add(fd, events: Epoll.readable | Epoll.edgeTriggered, data: EventToken.listener(index).raw)
    }

    func removeListener(_ fd: Int32, index: Int) {
        epoll.remove(fd)
    }

    /// The worker simply stops calling accept; the registration stays.
    func pauseListener(_ fd: Int32, index: Int) {}
    func resumeListener(_ fd: Int32, index: Int) {}
    var acceptsPending: Bool { false }

    @inline(__always)
    func wait(timeoutMilliseconds: Int32, _ body: (EventToken, Int32, UInt32) -> Void) -> Int {
        epoll.wait(timeoutMilliseconds: timeoutMilliseconds) { events, data in
            body(EventToken(raw: data), Int32(bitPattern: events), IoUring.more)
        }
    }
}
