import CShims
import Glibc

/// One epoll instance and the event buffer it fills. Owns both; `close()` releases them.
public final class Epoll {
    // Computed, not stored: a `static let` read from another module runs swift_once each time (about 100
    // instructions per kept-alive request on the hot path).
    public static var readable: UInt32 { CSHIMS_EPOLLIN }
    public static var writable: UInt32 { CSHIMS_EPOLLOUT }
    public static var error: UInt32 { CSHIMS_EPOLLERR }
    public static var hangUp: UInt32 { CSHIMS_EPOLLHUP }
    public static var readHangUp: UInt32 { CSHIMS_EPOLLRDHUP }
    public static var edgeTriggered: UInt32 { CSHIMS_EPOLLET }
    public static var exclusive: UInt32 { CSHIMS_EPOLLEXCLUSIVE }

    public let fd: Int32
    public let capacity: Int
    private let events: UnsafeMutablePointer<cshims_event>

    /// - Throws: `SystemError` naming epoll_create1.
    public init(capacity: Int = 256) throws(SystemError) {
        self.fd = try checked("epoll_create1") { cshims_epoll_create() }
        self.capacity = min(capacity, 1024)
        self.events = .allocate(capacity: self.capacity)
    }

    deinit {
        events.deallocate()
        closeDescriptor(fd)
    }

    /// epoll_ctl(ADD).
    @inline(__always)
    public func add(_ descriptor: Int32, events: UInt32, data: UInt64) throws(SystemError) {
        _ = try checked("epoll_ctl(ADD)") { cshims_epoll_add(fd, descriptor, events, data) }
    }

    /// epoll_ctl(MOD).
    public func modify(_ descriptor: Int32, events: UInt32, data: UInt64) throws(SystemError) {
        _ = try checked("epoll_ctl(MOD)") { cshims_epoll_mod(fd, descriptor, events, data) }
    }

    /// epoll_ctl(DEL); failures (the descriptor is already gone) are ignored.
    public func remove(_ descriptor: Int32) {
        _ = cshims_epoll_del(fd, descriptor)
    }

    /// Waits for events, then calls `body(events, data)` for each. Returns how many there were.
    @inline(__always)
    public func wait(timeoutMilliseconds: Int32, _ body: (UInt32, UInt64) -> Void) -> Int {
        let n = cshims_epoll_wait(fd, events, Int32(capacity), timeoutMilliseconds)
        if n <= 0 { return 0 }
        for i in 0..<Int(n) {
            body(events[i].events, events[i].data)
        }
        return Int(n)
    }
}

/// An eventfd used to wake an event loop from another thread.
public enum EventFd {
    /// A non-blocking, close-on-exec eventfd.
    public static func make() throws(SystemError) -> Int32 {
        try checked("eventfd") { cshims_eventfd() }
    }

    /// Adds one to the counter (wakes pollers).
    public static func signal(_ fd: Int32) { _ = cshims_eventfd_signal(fd) }

    /// Resets the counter.
    public static func drain(_ fd: Int32) { _ = cshims_eventfd_drain(fd) }
}
