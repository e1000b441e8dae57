import Benchmark
import LBBalancing

/// nginx's max_fails / fail_timeout as a worker records each connect's outcome.
func passiveHealthBenchmarks() {
    let health = PassiveHealth(maxFails: 3, failTimeoutMs: 5_000)
    let failing = NodeState(name: "failing")
    var now: Int64 = 1_000_000
    Benchmark("recordFailure (max_fails 3, fail_timeout 5 s; every 3rd takes the node out)") { benchmark in
        var out = 0
        var t = now
        for _ in benchmark.scaledIterations {
            t += 1
            if health.recordFailure(failing, now: t) { out += 1 }
        }
        now = t
        blackHole(out)
    }
    let healthy = NodeState(name: "healthy")
    Benchmark("recordSuccess (nothing counted: the common case)") { benchmark in
        for _ in benchmark.scaledIterations {
            health.recordSuccess(healthy)
        }
        blackHole(healthy.connectFailures.load(ordering: .relaxed))
    }
    let flaky = NodeState(name: "flaky")
    var later: Int64 = 1_000_000
    Benchmark("recordFailure + recordSuccess (one failed connect, then a good one)") { benchmark in
        var t = later
        for _ in benchmark.scaledIterations {
            t += 1
            health.recordFailure(flaky, now: t)
            health.recordSuccess(flaky)
        }
        later = t
        blackHole(flaky.connectFailures.load(ordering: .relaxed))
    }
}
