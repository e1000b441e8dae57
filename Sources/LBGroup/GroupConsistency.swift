/// What one node said about itself and the group (tessera-facts.md §10). Nil fields: that question went
/// unanswered (the node or that server is down, or the service is not balanced here).
public struct NodeObservation: Sendable, Equatable {
    /// Its own public keys (ThirdParty `GET /keys`).
    public var ownKeys: Set<String>?
    /// `GET /version/distribution`, else `GET /version`.
    public var version: String?
    /// Every key its partyinfo holds (P2P `GET /partyinfo`), own and remote.
    public var partyKeys: Set<String>?

    public init(ownKeys: Set<String>? = nil, version: String? = nil, partyKeys: Set<String>? = nil) {
        self.ownKeys = ownKeys
        self.version = version
        self.partyKeys = partyKeys
    }
}

/// One way a node differs from the rest of its group.
public struct GroupProblem: Sendable, Equatable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Its own keys differ: a send it handles for a key it lacks fails ("Recipient not found"), now and then.
        case keys
        /// Another version: the payload codec and features flip from push to push.
        case version
        /// Its partyinfo lacks remote keys another node knows: sends to those keys fail on it (per-process
        /// discovery, tessera-facts.md §4).
        case partyinfo
    }

    public var node: String
    public var problem: Kind
    public var detail: String

    public init(node: String, problem: Kind, detail: String) {
        self.node = node
        self.problem = problem
        self.detail = detail
    }
}

/// The group's drift, worked out from what each node said: pure, so that every rule is tested without a node.
///
/// Keys and version are compared with the majority: a value more than half of the nodes that answered share.
/// A node that differs from it has the problem. With no majority (two nodes that differ, two against two)
/// every node that differs from another has it, since nothing says which one is right. Partyinfo: the remote
/// keys (those not among any node's own) that some node knows and another does not.
public enum GroupConsistency {
    /// The problems, in node order and then keys, version, partyinfo.
    public static func problems(names: [String], observations: [NodeObservation]) -> [GroupProblem] {
        precondition(names.count == observations.count)
        var found: [GroupProblem] = []
        let keyOutliers = outliers(observations.map { $0.ownKeys.map { $0.sorted().joined(separator: ",") } })
        let versionOutliers = outliers(observations.map(\.version))
        let groupKeys = Set(observations.compactMap(\.ownKeys).joined())
        let remote = observations.map { $0.partyKeys.map { $0.subtracting(groupKeys) } }
        let allRemote = Set(remote.compactMap { $0 }.joined())
        for (n, name) in names.enumerated() {
            if let outlier = keyOutliers[n] {
                let own = observations[n].ownKeys?.sorted() ?? []
                found.append(GroupProblem(
                    node: name, problem: .keys,
                    detail: "own keys \(short(own)) differ from " + reference(outlier, names: names, observations.map {
                        $0.ownKeys.map { short($0.sorted()) }
                    })
                ))
            }
            if let outlier = versionOutliers[n] {
                found.append(GroupProblem(
                    node: name, problem: .version,
                    detail: "version \(observations[n].version ?? "?") differs from "
                        + reference(outlier, names: names, observations.map(\.version))
                ))
            }
            if let known = remote[n] {
                let missing = allRemote.subtracting(known).sorted()
                if !missing.isEmpty {
                    let holders = names.indices.filter { $0 != n && (remote[$0]?.contains(missing[0]) ?? false) }.map { names[$0] }
                    found.append(GroupProblem(
                        node: name, problem: .partyinfo,
                        detail: "does not know \(missing.count) remote key\(missing.count == 1 ? "" : "s") that "
                            + "\(holders.joined(separator: ", ")) know\(holders.count == 1 ? "s" : ""): \(short(missing))"
                    ))
                }
            }
        }
        return found
    }

    /// How a node differs: from a majority (the value and who holds it), or from another node with no majority.
    enum Outlier: Equatable {
        case fromMajority(holders: [Int])
        case noMajority(others: [Int])
    }

    /// For each node, whether its value is an outlier; nodes that did not answer never are.
    static func outliers(_ values: [String?]) -> [Outlier?] {
        let answered = values.compactMap { $0 }
        var counts: [String: Int] = [:]
        for value in answered { counts[value, default: 0] += 1 }
        guard counts.count > 1 else { return values.map { _ in nil } }
        let top = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!
        if top.value * 2 > answered.count {
            let holders = values.indices.filter { values[$0] == top.key }
            return values.map { value in value.flatMap { $0 == top.key ? nil : .fromMajority(holders: holders) } }
        }
        return values.enumerated().map { n, value in
            guard let value else { return nil }
            return .noMajority(others: values.indices.filter { values[$0] != nil && values[$0] != value })
        }
    }

    private static func reference(_ outlier: Outlier, names: [String], _ shown: [String?]) -> String {
        switch outlier {
        case .fromMajority(let holders):
            let first = holders[0]
            return "the majority's \(shown[first] ?? "?") (\(holders.map { names[$0] }.joined(separator: ", ")))"
        case .noMajority(let others):
            return others.map { "\(names[$0])'s \(shown[$0] ?? "?")" }.joined(separator: ", ") + "; no majority says which is right"
        }
    }

    /// Keys as the operator reads them: each cut to 8 characters, at most three, and how many more.
    static func short(_ keys: [String]) -> String {
        let shown = keys.prefix(3).map { $0.count > 8 ? String($0.prefix(8)) + "..." : $0 }
        return "[" + shown.joined(separator: ", ") + (keys.count > 3 ? ", +\(keys.count - 3)" : "") + "]"
    }

    /// The nodes the hold-out policy takes out: those whose own keys differ from a strict majority. Never every
    /// node that is up: `available` says which are.
    public static func holdOut(observations: [NodeObservation], available: [Bool]) -> Set<Int> {
        let keyOutliers = outliers(observations.map { $0.ownKeys.map { $0.sorted().joined(separator: ",") } })
        let candidates = Set(keyOutliers.indices.filter {
            if case .fromMajority = keyOutliers[$0] { return true }
            return false
        })
        let remaining = available.indices.filter { available[$0] && !candidates.contains($0) }
        return remaining.isEmpty ? [] : candidates
    }
}
