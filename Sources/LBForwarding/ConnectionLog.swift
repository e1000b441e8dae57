import Synchronization

/// What `--log-connections` logs of one connection, written by its worker when the connection ends.
public struct ConnectionRecord: Sendable {
    /// How a connection ended.
    public enum Ending: UInt8, Sendable {
        /// Both sides closed (FINs both ways), or the balancer closed it (idle, drain, node marked down).
        case closed
        /// A reset or a socket error on one side, passed to the other.
        case reset
        /// No node could take it: the client was closed before any byte moved.
        case noNode
    }

    public var service: Int32 = 0
    /// -1 when no node took it.
    public var node: Int32 = -1
    public var durationMs: Int64 = 0
    public var bytesUp: Int = 0
    public var bytesDown: Int = 0
    public var ending: Ending = .closed

    public init() {}
}

/// One worker's connection records on their way to the log: a fixed ring with one writer (the worker, which
/// never waits and never allocates: a full ring drops the record and counts it) and one reader (the engine's
/// log thread, which formats and logs off the workers' time).
final class ConnectionLogRing: @unchecked Sendable {
    private let records: UnsafeMutablePointer<ConnectionRecord>
    private let capacity: Int
    private let written = Atomic<Int>(0)
    private let read = Atomic<Int>(0)
    let dropped = Atomic<Int>(0)

    init(capacity: Int = 4_096) {
        self.capacity = capacity
        records = .allocate(capacity: capacity)
        records.initialize(repeating: ConnectionRecord(), count: capacity)
    }

    deinit {
        records.deinitialize(count: capacity)
        records.deallocate()
    }

    /// The worker's side.
    @inline(__always)
    func push(_ record: ConnectionRecord) {
        let w = written.load(ordering: .relaxed)
        guard w - read.load(ordering: .acquiring) < capacity else {
            dropped.add(1, ordering: .relaxed)
            return
        }
        records[w % capacity] = record
        written.store(w + 1, ordering: .releasing)
    }

    /// The log thread's side: every record written so far, oldest first.
    func drain(_ body: (ConnectionRecord) -> Void) {
        let w = written.load(ordering: .acquiring)
        var r = read.load(ordering: .relaxed)
        while r < w {
            body(records[r % capacity])
            r += 1
        }
        read.store(r, ordering: .releasing)
    }
}
