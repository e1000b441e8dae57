import LBGroup
import Testing

/// The rules that turn what each node said into the group's problems, without a node.
@Suite("group consistency rules")
struct GroupConsistencyTests {
    static let a = "AAAAAAAAAAAAAAAA"
    static let b = "BBBBBBBBBBBBBBBB"
    static let r1 = "REMOTE1111111111"
    static let r2 = "REMOTE2222222222"

    func node(_ keys: [String]? = [a], version: String? = "24.4.2", party: [String]? = nil) -> NodeObservation {
        NodeObservation(ownKeys: keys.map(Set.init), version: version, partyKeys: party.map(Set.init))
    }

    @Test("a group that agrees has no problem")
    func agreeing() {
        let nodes = [node(party: [Self.a, Self.r1]), node(party: [Self.a, Self.r1]), node(party: [Self.a, Self.r1])]
        #expect(GroupConsistency.problems(names: ["n1", "n2", "n3"], observations: nodes).isEmpty)
    }

    @Test("keys: with a majority, only the node that differs has the problem, and the detail names the majority")
    func keysMajority() {
        let problems = GroupConsistency.problems(names: ["n1", "n2", "n3"], observations: [node(), node([Self.b]), node()])
        #expect(problems.map(\.node) == ["n2"])
        #expect(problems.first?.problem == .keys)
        #expect(problems.first?.detail.contains("majority's [AAAAAAAA...] (n1, n3)") == true, "\(problems)")
    }

    @Test("keys: two nodes that differ both have the problem: no majority says which is right")
    func keysNoMajority() {
        let problems = GroupConsistency.problems(names: ["n1", "n2"], observations: [node(), node([Self.b])])
        #expect(problems.map(\.node) == ["n1", "n2"])
        #expect(problems.allSatisfy { $0.problem == .keys && $0.detail.contains("no majority") })
    }

    @Test("version: the odd one out, compared like keys")
    func version() {
        let problems = GroupConsistency.problems(names: ["n1", "n2", "n3"], observations: [node(), node(), node(version: "23.4.0")])
        #expect(problems == [GroupProblem(node: "n3", problem: .version, detail: "version 23.4.0 differs from the majority's 24.4.2 (n1, n2)")])
    }

    @Test("a node that did not answer is no outlier, and does not make the others ones")
    func unanswered() {
        let problems = GroupConsistency.problems(names: ["n1", "n2"], observations: [node(), node(nil, version: nil)])
        #expect(problems.isEmpty)
    }

    @Test("partyinfo: a node lacking a remote key another knows has the problem; the group's own keys do not count")
    func partyinfo() {
        let problems = GroupConsistency.problems(
            names: ["n1", "n2", "n3"],
            observations: [node(party: [Self.a, Self.r1, Self.r2]), node(party: [Self.a, Self.r1]), node(party: [Self.a])]
        )
        #expect(problems.map(\.node) == ["n2", "n3"])
        #expect(problems.allSatisfy { $0.problem == .partyinfo })
        #expect(problems[0].detail == "does not know 1 remote key that n1 knows: [REMOTE22...]")
        #expect(problems[1].detail.hasPrefix("does not know 2 remote keys"))
    }

    @Test("hold-out: only a node outvoted on keys, never with two nodes, never the last that is up")
    func holdOut() {
        let three = [node(), node([Self.b]), node()]
        #expect(GroupConsistency.holdOut(observations: three, available: [true, true, true]) == [1])
        // The majority's nodes are down: holding n2 out would leave nothing.
        #expect(GroupConsistency.holdOut(observations: three, available: [false, true, false]).isEmpty)
        let two = [node(), node([Self.b])]
        #expect(GroupConsistency.holdOut(observations: two, available: [true, true]).isEmpty)
        // A different version is reported, never held out.
        let versions = [node(), node(version: "1"), node()]
        #expect(GroupConsistency.holdOut(observations: versions, available: [true, true, true]).isEmpty)
    }
}
