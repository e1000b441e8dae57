import LBEngine
import LBSystem

/// What the ring copy mover (`Worker+RingCopy`) holds of its own, apart from the connections' slots: the
/// io_uring its requests go to, the queues of received buffers, and the directions waiting for a buffer. A worker
/// has one when its connections start on the mover (io_uring engine, copy or auto mode), none otherwise; the
/// mover's functions are handed it, so none of them needs to ask whether there is a ring.
final class RingCopyMover {
    let ring: IoUring
    /// The provided buffers registered with the ring; ids from `provided` up name the worker's own copy
    /// buffers (`BufferPool`, read into directly while the provided ones are out).
    let provided: Int
    /// Each buffer's length received, and the next buffer in its direction's queue (-1: none).
    var bufferLength: [Int32]
    var bufferNext: [Int32]
    /// Directions whose multishot recv ended for want of buffers, to re-arm as buffers come back.
    var starved: [(slot: Int32, generation: UInt32, side: Side)] = []
    /// Provided buffers holding received bytes (out of the kernel's ring).
    var buffersOut = 0

    /// Registers `provided` buffers of `bufferSize` bytes with the ring as buffer group `group`.
    init(ring: IoUring, provided: Int, ownBuffers: Int, bufferSize: Int, group: UInt16, slots: Int) throws(SystemError) {
        try ring.provideBuffers(count: provided, size: bufferSize, group: group)
        self.ring = ring
        self.provided = provided
        bufferLength = Array(repeating: 0, count: provided + ownBuffers)
        bufferNext = Array(repeating: -1, count: provided + ownBuffers)
        starved.reserveCapacity(slots)
    }

    /// The worker's own buffer (its `BufferPool` index) a buffer id names; nil for a provided buffer.
    @inline(__always)
    func ownIndex(_ id: Int32) -> Int32? { Int(id) >= provided ? id - Int32(provided) : nil }

    /// The buffer id of the worker's own buffer `index`.
    @inline(__always)
    func id(ofOwn index: Int32) -> Int32 { Int32(provided) + index }
}
