import LBForwarding
import Synchronization

/// The workers' counters summed: each read is a relaxed load, so the sum is a moment's reading, not a
/// snapshot taken under a lock (counters move between two loads; each is exact on its own).
struct WorkerTotals: Sendable {
    var accepted = 0
    var open = 0
    var bytesUp = 0
    var bytesDown = 0
    var connectFailures = 0
    var retries = 0
    var noNode = 0
    var closedOnMarkDown = 0

    init(_ counters: [WorkerCounters]) {
        for c in counters {
            accepted += c.accepted.load(ordering: .relaxed)
            open += c.open.load(ordering: .relaxed)
            bytesUp += c.bytesUp.load(ordering: .relaxed)
            bytesDown += c.bytesDown.load(ordering: .relaxed)
            connectFailures += c.connectFailures.load(ordering: .relaxed)
            retries += c.retries.load(ordering: .relaxed)
            noNode += c.noNode.load(ordering: .relaxed)
            closedOnMarkDown += c.closedOnMarkDown.load(ordering: .relaxed)
        }
    }
}
