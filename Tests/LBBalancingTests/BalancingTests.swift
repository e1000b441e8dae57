import Synchronization
import LBBalancing
import Testing

/// Node choice and passive health, as pure values with a manual clock.
@Suite("node choice and passive health")
struct NodeChoiceTests {
    private func nodes(_ count: Int) -> [NodeState] { (0..<count).map { NodeState(name: "n\($0)") } }

    @Test("round robin takes the available nodes in turn")
    func roundRobin() {
        let pool = nodes(3)
        var picker = NodePicker(algorithm: .roundrobin)
        let picks = (0..<6).compactMap { _ in picker.pick(from: pool, excluding: NodeSet(), now: 0) }
        #expect(picks == [0, 1, 2, 0, 1, 2])
    }

    @Test("a node marked down gets no new connections")
    func markedDownSkipped() {
        let pool = nodes(3)
        pool[1].setMarkedUp(false)
        var picker = NodePicker(algorithm: .roundrobin)
        let picks = (0..<4).compactMap { _ in picker.pick(from: pool, excluding: NodeSet(), now: 0) }
        #expect(picks == [0, 2, 0, 2])
    }

    @Test("the retry excludes nodes already tried, and ends when none is left")
    func excludesTried() {
        let pool = nodes(3)
        var picker = NodePicker(algorithm: .roundrobin)
        var tried = NodeSet()
        var order: [Int] = []
        while let next = picker.pick(from: pool, excluding: tried, now: 0) {
            order.append(next)
            tried.insert(next)
        }
        #expect(order.sorted() == [0, 1, 2])
    }

    @Test("least connections picks the node with fewest open connections")
    func leastConnections() {
        let pool = nodes(3)
        pool[0].activeConnections.store(5, ordering: .relaxed)
        pool[1].activeConnections.store(2, ordering: .relaxed)
        pool[2].activeConnections.store(7, ordering: .relaxed)
        var picker = NodePicker(algorithm: .leastconn)
        #expect(picker.pick(from: pool, excluding: NodeSet(), now: 0) == 1)
        pool[1].activeConnections.store(9, ordering: .relaxed)
        #expect(picker.pick(from: pool, excluding: NodeSet(), now: 0) == 0)
    }

    @Test("max_fails failures within fail_timeout take a node out for fail_timeout")
    func passiveHealth() {
        let node = NodeState(name: "n")
        let health = PassiveHealth(maxFails: 3, failTimeoutMs: 5_000)
        #expect(!health.recordFailure(node, now: 1_000))
        #expect(!health.recordFailure(node, now: 2_000))
        #expect(health.recordFailure(node, now: 3_000), "the third failure takes it out")
        #expect(!node.isAvailable(now: 3_001))
        #expect(!node.isAvailable(now: 7_999))
        #expect(node.isAvailable(now: 8_000), "back after fail_timeout")
    }

    @Test("failures spread wider than fail_timeout do not take a node out")
    func windowExpires() {
        let node = NodeState(name: "n")
        let health = PassiveHealth(maxFails: 3, failTimeoutMs: 5_000)
        for t in stride(from: Int64(0), to: 30_000, by: 3_000) { health.recordFailure(node, now: t) }
        #expect(node.isAvailable(now: 30_000))
    }

    @Test("a successful connect clears the failure count")
    func successClears() {
        let node = NodeState(name: "n")
        let health = PassiveHealth(maxFails: 3, failTimeoutMs: 5_000)
        health.recordFailure(node, now: 0)
        health.recordFailure(node, now: 1)
        health.recordSuccess(node)
        health.recordFailure(node, now: 2)
        #expect(node.isAvailable(now: 3))
    }

    @Test("max_fails 0 turns passive health off")
    func off() {
        let node = NodeState(name: "n")
        let health = PassiveHealth(maxFails: 0, failTimeoutMs: 5_000)
        for t in 0..<100 { health.recordFailure(node, now: Int64(t)) }
        #expect(node.isAvailable(now: 100))
        #expect(node.connectFailures.load(ordering: .relaxed) == 100, "still counted for status")
    }
}
