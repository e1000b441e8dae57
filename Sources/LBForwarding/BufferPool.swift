/// A worker's pool of fixed-size copy buffers, carved from one allocation. A direction holds a buffer only
/// while it has unwritten bytes.
final class BufferPool {
    /// The copy buffers' size: a read that fills one is taken for bulk (auto mode).
    static var copyBufferSize: Int { 16 * 1024 }
    let bufferSize: Int
    let count: Int
    private let memory: UnsafeMutableRawPointer
    private var freeList: [Int32]

    init(bufferSize: Int, count: Int) {
        self.bufferSize = bufferSize
        self.count = count
        memory = .allocate(byteCount: bufferSize * count, alignment: 64)
        freeList = []
        freeList.reserveCapacity(count)
        for i in stride(from: count - 1, through: 0, by: -1) { freeList.append(Int32(i)) }
    }

    deinit { memory.deallocate() }

    /// Buffers handed out and not yet returned.
    var inUse: Int { count - freeList.count }

    @inline(__always) func take() -> Int32? { freeList.popLast() }
    @inline(__always) func give(_ i: Int32) { freeList.append(i) }

    /// The start of buffer `i`.
    @inline(__always)
    func address(_ i: Int32) -> UnsafeMutableRawPointer { memory + Int(i) * bufferSize }
}
