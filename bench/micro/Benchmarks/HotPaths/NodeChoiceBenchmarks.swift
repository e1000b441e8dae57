import Benchmark
import LBBalancing

/// `count` nodes, the ones listed marked down or draining (spread over the list, so that a pick steps over
/// them as it would in a real pool), with a few open connections each for leastconn to compare.
private func makeNodes(_ count: Int, down: [Int] = [], draining: [Int] = []) -> [NodeState] {
    (0..<count).map { i in
        let node = NodeState(name: "n\(i + 1)")
        if down.contains(i) { node.setMarkedUp(false) }
        if draining.contains(i) { node.setAdminState(.draining) }
        node.activeConnections.store(10 + (i * 7) % 5, ordering: .relaxed)
        node.lastFailureAt.store(Int64(1_000 + (i * 37) % 101), ordering: .relaxed)
        return node
    }
}

/// NodePicker.pick (round robin and leastconn) and the all-down fallback, as a worker calls them for each
/// new connection (Worker+Connect).
func nodeChoiceBenchmarks() {
    let now: Int64 = 1_000_000
    let pools: [(name: String, nodes: [NodeState])] = [
        ("2 nodes", makeNodes(2)),
        ("2 nodes, 1 down", makeNodes(2, down: [0])),
        ("3 nodes", makeNodes(3)),
        ("3 nodes, 1 down, 1 draining", makeNodes(3, down: [0], draining: [1])),
        ("16 nodes", makeNodes(16)),
        ("16 nodes, 4 down, 4 draining", makeNodes(16, down: [1, 5, 9, 13], draining: [2, 6, 10, 14])),
    ]
    for algorithm in BalanceAlgorithm.allCases {
        for pool in pools {
            var picker = NodePicker(algorithm: algorithm)
            Benchmark("pick \(algorithm), \(pool.name)") { benchmark in
                var sum = 0
                for _ in benchmark.scaledIterations {
                    sum &+= picker.pick(from: pool.nodes, excluding: NodeSet(), now: now) ?? -1
                }
                blackHole(sum)
            }
        }
    }
    // A retry: the node just tried is excluded.
    let three = makeNodes(3)
    var retryPicker = NodePicker(algorithm: .roundrobin)
    Benchmark("pick roundrobin, 3 nodes, 1 excluded (retry)") { benchmark in
        var sum = 0
        var tried = NodeSet()
        tried.insert(1)
        for _ in benchmark.scaledIterations {
            sum &+= retryPicker.pick(from: three, excluding: tried, now: now) ?? -1
        }
        blackHole(sum)
    }
    for count in [2, 3, 16] {
        let nodes = makeNodes(count, down: Array(0..<count))
        let picker = NodePicker(algorithm: .roundrobin)
        Benchmark("pickLeastRecentlyFailed, \(count) nodes all down") { benchmark in
            var sum = 0
            for _ in benchmark.scaledIterations {
                sum &+= picker.pickLeastRecentlyFailed(from: nodes, excluding: NodeSet()) ?? -1
            }
            blackHole(sum)
        }
    }
}
