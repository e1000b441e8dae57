import Benchmark

// The data path's pure parts, one operation at a time. Every benchmark runs 1,000 operations per measured
// iteration (`scalingFactor: .kilo`), so the scaled (`*`) wall-clock figures are nanoseconds per operation and
// mallocCountTotal is the count per 1,000 operations: it must be 0, since the hot path allocates nothing once
// running. State is built before the benchmark starts (outside the measured closure) and reused across
// iterations, which is the steady state a worker runs in.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .milliseconds(500),
        maxIterations: 5_000
    )
    nodeChoiceBenchmarks()
    slotTableBenchmarks()
    deadlineListBenchmarks()
    eventTokenBenchmarks()
    passiveHealthBenchmarks()
}

/// A fixed pseudo-random sequence (xorshift64*), so every run walks the same "random" slots.
struct Scramble {
    private var state: UInt64

    init(seed: UInt64) { state = seed | 1 }

    mutating func next(below bound: Int) -> Int {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return Int((state &* 0x2545_F491_4F6C_DD1D) >> 33) % bound
    }

    /// 0..<count in a scrambled order.
    static func permutation(_ count: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<count)
        var r = Scramble(seed: seed)
        for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, r.next(below: i + 1)) }
        return order
    }
}
