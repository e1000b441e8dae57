/// How long a target's probes took: a histogram with fixed buckets (Prometheus' `le` bounds, seconds) and the
/// last probe's duration. A value kept by the probe loop with its report, so it costs the data path nothing.
public struct ProbeLatency: Sendable, Equatable {
    /// Upper bounds of the buckets, seconds: from a loopback answer (1 ms) to the longest probe timeout
    /// worth telling apart (5 s); slower probes count in `+Inf` only.
    public static let bounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    /// Probes per bucket, not cumulative: `counts[i]` took more than `bounds[i - 1]` and at most `bounds[i]`
    /// seconds; the extra last entry counts those slower than every bound.
    public private(set) var counts = [Int](repeating: 0, count: bounds.count + 1)
    /// Seconds of every probe together.
    public private(set) var sum: Double = 0
    public private(set) var count = 0
    /// The last probe's duration, seconds (nil before the first).
    public private(set) var last: Double?

    public init() {}

    /// Counts one probe that took `seconds`.
    public mutating func record(_ seconds: Double) {
        let bucket = Self.bounds.firstIndex { seconds <= $0 } ?? Self.bounds.count
        counts[bucket] += 1
        sum += seconds
        count += 1
        last = seconds
    }

    /// Probes that took at most `bounds[i]` seconds (Prometheus' cumulative `_bucket` value).
    public func cumulative(upTo i: Int) -> Int {
        counts[0...i].reduce(0, +)
    }
}
