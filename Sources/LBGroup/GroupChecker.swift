public import Foundation
import AsyncHTTPClient
public import LBBalancing
public import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// The slow loop that asks every node of the group what it holds (its own keys, its version, the keys its
/// partyinfo knows) and reports the drift (`GroupConsistency`), off the probe loop: a check that hangs on a
/// node delays the next check, never a probe. With the hold-out policy, a node whose own keys differ from the
/// majority's takes no new connections until they agree again (never every node that is up).
public final class GroupChecker: Sendable {
    /// Where to ask one node.
    public struct Target: Sendable {
        public var name: String
        public var host: String
        /// The ThirdParty server (`GET /keys`); nil when no service here is ThirdParty: own keys go unchecked.
        public var thirdPartyPort: Int?
        /// The P2P server (`GET /partyinfo`, and the version).
        public var p2pPort: Int

        public init(name: String, host: String, thirdPartyPort: Int?, p2pPort: Int) {
            self.name = name
            self.host = host
            self.thirdPartyPort = thirdPartyPort
            self.p2pPort = p2pPort
        }
    }

    public enum Policy: String, Sendable, CaseIterable {
        /// Report only.
        case report
        /// Also take new connections away from a node whose own keys differ from the majority.
        case holdOut = "hold-out"
    }

    /// What the last check found.
    public struct Report: Sendable {
        public var checkedAt: Date?
        public var problems: [GroupProblem]
        /// Nodes held out by the policy.
        public var heldOut: [String]
        public var consistent: Bool { problems.isEmpty }
    }

    private let targets: [Target]
    private let nodes: [NodeState]
    private let intervalMs: Int
    private let timeoutMs: Int
    private let policy: Policy
    private let scheme: String
    private let logger: Logger
    private let onChange: @Sendable () -> Void
    private let configuration: HTTPClient.Configuration
    private let last = Mutex(Report(checkedAt: nil, problems: [], heldOut: []))

    /// - Parameters:
    ///   - nodes: the nodes' shared state, in target order (the policy holds them out).
    ///   - tls: the probe's TLS client settings, for nodes whose servers use HTTPS.
    ///   - onChange: called when a node is held out or let back (workers re-read node states).
    /// - Throws: when the TLS files cannot be read.
    public init(
        targets: [Target], nodes: [NodeState], intervalMs: Int, timeoutMs: Int, policy: Policy, tls: TLSConfiguration?,
        logger: Logger, onChange: @escaping @Sendable () -> Void = {}
    ) {
        precondition(targets.count == nodes.count)
        self.targets = targets
        self.nodes = nodes
        self.intervalMs = intervalMs
        self.timeoutMs = timeoutMs
        self.policy = policy
        self.logger = logger
        self.onChange = onChange
        scheme = tls == nil ? "http" : "https"
        let timeout = TimeAmount.milliseconds(Int64(timeoutMs))
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: .init(connect: timeout, read: timeout)
        )
        configuration.connectionPool = .init(idleTimeout: .milliseconds(100))
        self.configuration = configuration
    }

    /// What the last check found.
    public var report: Report { last.withLock { $0 } }

    /// Runs the loop until cancelled: a check at once, then one per interval. Lets held-out nodes back at the
    /// end. The HTTP client lives as long as the loop (one that is never started holds none).
    public func start() -> Task<Void, Never> {
        // Made here, on the caller's thread, not in the task: the first client brings up NIO's event loops,
        // which must have their descriptors before the workers may have taken every one (NIO stops the process
        // when it cannot create an event loop).
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        return Task {
            while !Task.isCancelled {
                await check(using: client)
                try? await Task.sleep(for: .milliseconds(intervalMs))
            }
            release()
            try? await client.shutdown()
        }
    }

    /// One round: asks every node, works out the problems, logs what changed and applies the policy.
    func check(using client: HTTPClient) async {
        let observations = await withTaskGroup(of: (Int, NodeObservation).self) { group in
            for (n, target) in targets.enumerated() {
                group.addTask { (n, await self.observe(target, client: client)) }
            }
            var all = Array(repeating: NodeObservation(), count: targets.count)
            for await (n, observation) in group { all[n] = observation }
            return all
        }
        let names = targets.map(\.name)
        let problems = GroupConsistency.problems(names: names, observations: observations)
        var held: Set<Int> = []
        if policy == .holdOut {
            // Up and enabled, held out or not: the policy never holds out every node that could serve.
            let available = nodes.map { $0.isMarkedUp && $0.adminState == .enabled }
            held = GroupConsistency.holdOut(observations: observations, available: available)
        }
        let previous = last.withLock { report in
            defer { report = Report(checkedAt: Date(), problems: problems, heldOut: held.sorted().map { names[$0] }) }
            return report
        }
        log(from: previous.problems, to: problems)
        var changed = false
        for (n, node) in nodes.enumerated() where node.setHeldOut(held.contains(n)) != held.contains(n) {
            changed = true
            if held.contains(n) {
                logger.warning("group: node held out: its own keys differ from the majority's", metadata: ["node": "\(names[n])"])
            } else {
                logger.info("group: node let back in", metadata: ["node": "\(names[n])"])
            }
        }
        if changed { onChange() }
    }

    /// One line per problem that appeared or went, and one when the group becomes consistent again.
    private func log(from old: [GroupProblem], to new: [GroupProblem]) {
        let before = Set(old)
        for problem in new where !before.contains(problem) {
            logger.warning(
                "group inconsistent",
                metadata: ["node": "\(problem.node)", "problem": "\(problem.problem.rawValue)", "detail": "\(problem.detail)"]
            )
        }
        let gone = old.filter { problem in
            !new.contains { $0.node == problem.node && $0.problem == problem.problem }
        }
        for problem in gone {
            logger.info("group: problem gone", metadata: ["node": "\(problem.node)", "problem": "\(problem.problem.rawValue)"])
        }
        if !old.isEmpty && new.isEmpty { logger.info("group consistent again") }
    }

    private func release() {
        var changed = false
        for node in nodes where node.setHeldOut(false) { changed = true }
        if changed { onChange() }
    }

    /// Asks one node its keys, version and partyinfo; what it does not answer stays nil.
    func observe(_ target: Target, client: HTTPClient) async -> NodeObservation {
        async let keys: [UInt8]? = if let port = target.thirdPartyPort { await ask(client, target.host, port, "/keys") } else { nil }
        async let partyinfo = ask(client, target.host, target.p2pPort, "/partyinfo")
        var version = await ask(client, target.host, target.p2pPort, "/version/distribution")
        if version == nil { version = await ask(client, target.host, target.p2pPort, "/version") }
        var observation = NodeObservation()
        observation.version = version.map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
            .flatMap { $0.isEmpty || $0.count > 64 ? nil : $0 }
        if let data = await keys { observation.ownKeys = Self.keys(in: data) }
        if let data = await partyinfo { observation.partyKeys = Self.keys(in: data) }
        return observation
    }

    /// `{"keys": [{"key": K}, ...]}` (both `/keys` and `/partyinfo` have it): the set of K; nil if not that.
    static func keys(in data: [UInt8]) -> Set<String>? {
        guard let document = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
            let entries = document["keys"] as? [[String: Any]]
        else { return nil }
        return Set(entries.compactMap { $0["key"] as? String })
    }

    /// The body of a 200 answer to `GET path`, at most 1 MiB; nil for anything else.
    private func ask(_ client: HTTPClient, _ host: String, _ port: Int, _ path: String) async -> [UInt8]? {
        let authority = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        var request = HTTPClientRequest(url: "\(scheme)://\(authority):\(port)\(path)")
        request.headers.add(name: "User-Agent", value: "tessera-lb-group-check")
        do {
            let response = try await client.execute(request, deadline: .now() + .milliseconds(Int64(timeoutMs)))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { return nil }
            return Array(buffer: body)
        } catch {
            return nil
        }
    }
}
