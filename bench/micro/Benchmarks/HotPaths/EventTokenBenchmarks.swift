import Benchmark
import LBEngine

/// Packing and unpacking the 64-bit word epoll carries for every registration.
func eventTokenBenchmarks() {
    var r = Scramble(seed: 3)
    let inputs: [(slot: UInt32, generation: UInt32)] = (0..<4_096).map { _ in
        (UInt32(r.next(below: 16_384)), UInt32(r.next(below: 1 << 30)))
    }
    var tokens = inputs.enumerated().map { k, x in EventToken(slot: x.slot, generation: x.generation, side: k & 1 == 0 ? .client : .node) }
    tokens[7] = .wake
    tokens[99] = .listener(2)
    let mask = inputs.count - 1
    Benchmark("EventToken encode (slot, generation, side)") { benchmark in
        var acc: UInt64 = 0
        for k in benchmark.scaledIterations {
            let x = inputs[k & mask]
            acc ^= EventToken(slot: x.slot, generation: x.generation, side: k & 1 == 0 ? .client : .node).raw
        }
        blackHole(acc)
    }
    Benchmark("EventToken decode (wake?, listener?, slot, generation, side)") { benchmark in
        var acc = 0
        for k in benchmark.scaledIterations {
            let token = tokens[k & mask]
            // The order of Worker.handle(events:token:).
            if token == .wake {
                acc &+= 1
            } else if let listener = token.listenerIndex {
                acc &+= listener
            } else {
                acc &+= Int(token.slot) &+ Int(token.generation) &+ Int(token.side.rawValue)
            }
        }
        blackHole(acc)
    }
}
