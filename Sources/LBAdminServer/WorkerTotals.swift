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
    var refusedByAllowlist = 0
    var mirror = StatusReport.Mirror()
    /// Per service and node, by name: every service and node there was since the start (a reload may have
    /// removed some).
    var serviceNodes: [ServiceNodeCounters.Key: ServiceNodeCounters.Counts] = [:]

    init(_ counters: [WorkerCounters]) {
        for c in counters {
            for (key, counts) in c.serviceNodeTotals() { serviceNodes[key, default: .init()].add(counts) }
            accepted += c.accepted.load(ordering: .relaxed)
            open += c.open.load(ordering: .relaxed)
            bytesUp += c.bytesUp.load(ordering: .relaxed)
            bytesDown += c.bytesDown.load(ordering: .relaxed)
            connectFailures += c.connectFailures.load(ordering: .relaxed)
            retries += c.retries.load(ordering: .relaxed)
            noNode += c.noNode.load(ordering: .relaxed)
            closedOnMarkDown += c.closedOnMarkDown.load(ordering: .relaxed)
            refusedByAllowlist += c.refusedByAllowlist.load(ordering: .relaxed)
            mirror.requests += c.partyinfoRequests.load(ordering: .relaxed)
            mirror.copies += c.partyinfoCopies.load(ordering: .relaxed)
            mirror.failed += c.partyinfoCopyFailures.load(ordering: .relaxed)
            mirror.dropped += c.partyinfoDropped.load(ordering: .relaxed)
            mirror.unframed += c.unframedConnections.load(ordering: .relaxed)
        }
    }

    /// The keys of `serviceNodes` in a stable order: the view's services and nodes first, in their order (all
    /// of them, counted or not), then any others (of an earlier configuration) by name.
    func serviceNodeKeys(services: [String], nodes: [String]) -> [ServiceNodeCounters.Key] {
        var keys = services.flatMap { s in nodes.map { ServiceNodeCounters.Key(service: s, node: $0) } }
        let known = Set(keys)
        keys += serviceNodes.keys.filter { !known.contains($0) }.sorted { ($0.service, $0.node) < ($1.service, $1.node) }
        return keys
    }

    /// One node's counts over every service.
    func node(_ name: String) -> ServiceNodeCounters.Counts {
        var counts = ServiceNodeCounters.Counts()
        for (key, c) in serviceNodes where key.node == name { counts.add(c) }
        return counts
    }
}
