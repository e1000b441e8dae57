import Synchronization

/// One worker's counts per service and node: a flat block of atomics indexed [service][node][counter],
/// allocated once when the worker is made, so counting on the hot path is an index and a relaxed load and
/// store (one writer: the worker). Readers take `totals()`, keyed by name, which is how counts of engines with
/// other services or nodes (a reload) add up.
public final class ServiceNodeCounters: @unchecked Sendable {
    /// What is counted for each service and node.
    public enum Counter: Int, CaseIterable, Sendable {
        /// Connections established to the node for the service.
        case connections
        /// Bytes client to node.
        case bytesUp
        /// Bytes node to client.
        case bytesDown
        /// Connects to the node that failed (refused, reset, timed out).
        case connectFailures
        /// Connects to the node made after another node failed for the same client.
        case retries
    }

    /// Which service and node a count belongs to, by name.
    public struct Key: Hashable, Sendable {
        public let service: String
        public let node: String

        public init(service: String, node: String) {
            self.service = service
            self.node = node
        }
    }

    /// One service and node's counts, indexed by `Counter.rawValue`.
    public struct Counts: Equatable, Sendable {
        public var values = [Int](repeating: 0, count: Counter.allCases.count)

        public init() {}

        public subscript(_ counter: Counter) -> Int {
            get { values[counter.rawValue] }
            set { values[counter.rawValue] = newValue }
        }
    }

    public let services: [String]
    public let nodes: [String]
    private let block: UnsafeMutablePointer<Atomic<Int>>
    private let count: Int
    /// Stored, so that indexing reads two integers (`allCases` would build an array).
    private let nodeCount: Int
    private let counterCount: Int

    public init(services: [String], nodes: [String]) {
        self.services = services
        self.nodes = nodes
        nodeCount = nodes.count
        counterCount = Counter.allCases.count
        count = services.count * nodeCount * counterCount
        // Whole cache lines of its own, so that no other worker's writes share a line with this one's.
        let bytes = (max(1, count) * MemoryLayout<Atomic<Int>>.stride + 63) / 64 * 64
        block = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            .bindMemory(to: Atomic<Int>.self, capacity: max(1, count))
        for i in 0..<count { (block + i).initialize(to: Atomic(0)) }
    }

    deinit {
        block.deinitialize(count: count)
        block.deallocate()
    }

    /// Adds `delta` to `counter` of `service` (index) and `node` (index); only the owning worker calls this.
    @inline(__always)
    func bump(_ service: Int32, _ node: Int32, _ counter: Counter, _ delta: Int = 1) {
        block[(Int(service) * nodeCount + Int(node)) * counterCount + counter.rawValue].bump(delta)
    }

    /// One count now (a relaxed load).
    public func load(service: Int, node: Int, _ counter: Counter) -> Int {
        block[(service * nodeCount + node) * counterCount + counter.rawValue].load(ordering: .relaxed)
    }

    /// Every count now, by service and node name (all of them, zeros too).
    public func totals() -> [Key: Counts] {
        var totals: [Key: Counts] = [:]
        for (s, service) in services.enumerated() {
            for (n, node) in nodes.enumerated() {
                var counts = Counts()
                for counter in Counter.allCases { counts[counter] = load(service: s, node: n, counter) }
                totals[Key(service: service, node: node), default: Counts()].add(counts)
            }
        }
        return totals
    }
}

extension ServiceNodeCounters.Counts {
    /// Adds `other`'s counts to these.
    public mutating func add(_ other: Self) {
        for i in values.indices { values[i] += other.values[i] }
    }
}
