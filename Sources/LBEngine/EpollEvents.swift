public import LBSystem

/// Edge-triggered epoll as a worker's event source (see `EventSource`).
public final class EpollEvents: EventSource {
    public static let deliversAcceptedSockets = false
    public var requestRing: IoUring? { nil }
    private let epoll: Epoll

    /// Both directions, hang-ups, edge-triggered: registered once, never modified in the steady state.
    static let socketEvents = Epoll.readable | Epoll.writable | Epoll.readHangUp | Epoll.edgeTriggered

    public init() throws(SystemError) {
        epoll = try Epoll(capacity: 512)
    }

    public func begin() {}

    public func watchWake(_ fd: Int32) throws(SystemError) {
        try epoll.add(fd, events: Epoll.readable | Epoll.edgeTriggered, data: EventToken.wake.raw)
    }

    @inline(__always)
    public func watch(_ fd: Int32, token: EventToken) throws(SystemError) {
        try epoll.add(fd, events: Self.socketEvents, data: token.raw)
    }

    /// Closing the socket removes it from the interest list (no descriptor is ever duplicated here).
    @inline(__always)
    public func unwatch(_ fd: Int32, token: EventToken) {}

    /// epoll queues nothing that names a descriptor.
    @inline(__always)
    public func submitBeforeClosing() {}

    public func rewatch(_ fd: Int32, from old: EventToken, to new: EventToken) throws(SystemError) {
        try epoll.modify(fd, events: Self.socketEvents, data: new.raw)
    }

    public func addListener(_ fd: Int32, index: Int) throws(SystemError) {
        try epoll.add(fd, events: Epoll.readable | Epoll.edgeTriggered, data: EventToken.listener(index).raw)
    }

    public func removeListener(_ fd: Int32, index: Int) {
        epoll.remove(fd)
    }

    /// The worker simply stops calling accept; the registration stays.
    public func pauseListener(_ fd: Int32, index: Int) {}
    public func resumeListener(_ fd: Int32, index: Int) {}
    public var acceptsPending: Bool { false }

    @inline(__always)
    public func wait(timeoutMilliseconds: Int32, _ body: (EventToken, Int32, UInt32) -> Void) -> Int {
        epoll.wait(timeoutMilliseconds: timeoutMilliseconds) { events, data in
            body(EventToken(raw: data), Int32(bitPattern: events), IoUring.more)
        }
    }
}
