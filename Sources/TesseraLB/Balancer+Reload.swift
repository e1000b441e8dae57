public import LBConfig
import Foundation
import Logging
import LBBalancing
import LBEngine
import LBForwarding
import LBHealth
import LBSystem
import Synchronization

/// What a reload changed, one entry per change (`nodes added: n3=127.0.0.4`, `health.rise 2 -> 3`).
public struct ReloadSummary: Sendable, CustomStringConvertible {
    /// Empty when the configuration read was the one running (then nothing was touched).
    public let changes: [String]
    /// The number of the engine generation now running (1 is the one started with the balancer).
    public let generation: Int
    /// Open connections the previous engine still had when it stopped accepting; they finish on it.
    public let previousOpen: Int

    /// The changes joined with `; `, or `nothing changed`.
    public var description: String { changes.isEmpty ? "nothing changed" : changes.joined(separator: "; ") }
}

extension Balancer {
    /// Applies a new configuration without dropping established connections and without refusing new ones.
    ///
    /// A new engine (a generation) is started for the new configuration and takes over the listening sockets of
    /// every service whose listen address stays, so nothing waiting to be accepted is lost; services that are new
    /// get new listeners, removed ones' listeners close. The previous engine stops accepting and lets its open
    /// connections (those of removed nodes too) run to their end, or for up to the new `reloadHardStopAfterMs`
    /// when set, then stops. Nodes that keep their name keep their state: probe verdict, operator state,
    /// counters. The probe loop restarts with the new targets and settings, each picking up where the old one
    /// was. The worker count stays until a restart.
    ///
    /// Logs one line saying what changed. Nothing is applied when the configuration is the one running.
    ///
    /// - Returns: what changed.
    /// - Throws: `BalancerError` when the configuration cannot be applied (a node that does not resolve, a port
    ///   that cannot be bound, TLS files that cannot be used, the balancer draining); the running configuration
    ///   stays as it was.
    public func reload(to requested: BalancerConfig) throws(BalancerError) -> ReloadSummary {
        operations.lock()
        defer { operations.unlock() }
        guard !isStopping else { throw BalancerError("the balancer is stopping") }
        guard let old = generations.current else { throw BalancerError("the balancer has not started") }
        let before = running.withLock { $0 }
        var config = requested
        var notes: [String] = []
        // The workers' count sizes more than the engines (the listeners are one per worker): it stays.
        let workers = old.plan.workers
        if (config.workers ?? Self.cores()) != workers {
            notes.append("workers: stays \(workers) until a restart (the configuration asks for \(config.workers.map(String.init) ?? "one per core"))")
        }
        config.workers = before.config.workers

        // Everything that can fail, before anything changes.
        let hosts = try Self.resolve(config.nodes)
        let services = try Self.services(of: config, hosts: hosts)
        let probe = try Self.probePlan(of: config)
        if config == before.config && hosts == before.hosts {
            var metadata: Logger.Metadata = ["generation": "\(old.number)"]
            if !notes.isEmpty { metadata["note"] = "\(notes.joined(separator: "; "))" }
            logger.info("reload: nothing changed", metadata: metadata)
            return ReloadSummary(changes: notes, generation: old.number, previousOpen: 0)
        }
        let kept = Dictionary(before.nodes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let startUp = !config.health.enabled || config.health.initialState == .up
        let nodes = config.nodes.map { kept[$0.name] ?? NodeState(name: $0.name, initiallyUp: startUp) }
        let generations = self.generations
        // Made before anything changes (a TLS file it cannot use rejects the reload); it starts below.
        let group = try Self.groupRun(of: config, nodes: nodes, logger: logger, onChange: { generations.nodesChanged() })
        let plan = Self.makePlan(
            config, services: services, nodes: nodes, workers: workers, logger: logger, logConnections: logConnections
        )
        let engine = try Self.makeEngine(plan: plan, choice: config.engine).engine
        let listeners: ListenerSet
        do {
            listeners = try old.engine.handOverListeners()
        } catch {
            throw BalancerError("cannot hand the listeners over: \(error)")
        }
        do {
            try engine.start(adopting: listeners)
        } catch {
            // The old engine serves on: its unix sockets' files stay.
            listeners.close(removingSocketFiles: false)
            throw Self.listenError(error, freebind: config.freebind)
        }

        // Applied from here on.
        let changes = Self.changes(from: before, to: config, hosts: hosts) + notes
        let removed = before.nodes.filter { node in !nodes.contains { $0 === node } }
        // The previous engine may still pick a node for a connection it accepted a moment ago, or retry one:
        // never a removed node. Its open connections finish.
        for node in removed { node.setAdminState(.draining) }
        Self.moveServiceVerdicts(of: nodes, from: before.config, to: config)
        // Removed services' listeners close (the old engine closes its own descriptors just below).
        listeners.close()
        generationCount += 1
        let generation = Generation(number: generationCount, plan: plan, engine: engine)
        generations.add(generation)
        old.engine.stopAccepting()
        let previousOpen = old.engine.openConnections
        drainInBackground(old, hardStopAfterMs: config.reloadHardStopAfterMs)

        // The probe loop: the old one ends before the new one takes over each node's verdict.
        before.health?.stop(waitingAtMost: before.config.health.timeoutMs + 1_000)
        if probe == nil {
            // Without probes a node is up unless failed out or set by hand.
            for node in nodes {
                node.setMarkedUp(true)
                node.replaceServicesDown(0)
            }
        }
        let health = probe.map { probe in
            HealthRun(
                HealthChecker(
                    nodes: nodes, targets: probe.targets, settings: probe.settings, timing: probe.timing, logger: logger,
                    carried: Self.carried(
                        probe.targets, nodes: nodes, config: config, previous: before.health?.checker, previousNodes: before.nodes
                    ),
                    onChange: { generations.nodesChanged() }
                )
            )
        }
        before.group?.cancel()
        running.withLock { $0 = Running(config: config, nodes: nodes, hosts: hosts, health: health, group: group) }
        health?.start()
        group?.start()
        generations.nodesChanged()
        for observer in reloadObservers.withLock({ $0 }) { observer() }
        let summary = ReloadSummary(changes: changes, generation: generation.number, previousOpen: previousOpen)
        logger.info(
            "reloaded",
            metadata: [
                "changes": "\(summary.description)", "generation": "\(generation.number)",
                "listen": "\(Self.listening(plan, ports: engine.listeningPorts, config: config))",
                "previous_open": "\(previousOpen)", "hard_stop_after_ms": "\(config.reloadHardStopAfterMs)",
            ]
        )
        return summary
    }

    /// Calls `observer` after each reload that is applied, before its `reloaded` line is logged: what shows the
    /// balancer (the admin listener, with `adminView`) follows it there. Called with the reload still under way,
    /// so it must not reload, drain or stop.
    public func onReload(_ observer: @escaping @Sendable () -> Void) {
        reloadObservers.withLock { $0.append(observer) }
    }

    /// Lets a replaced engine finish its open connections, then stops it, on a thread of its own. Its
    /// connections run to their end, or for at most `hardStopAfterMs` when that is not 0
    /// (`reloadHardStopAfterMs`). It is stopped only once it can accept nothing more (a socket accepted a moment
    /// before its listeners closed is served, not reset by the stop) and has no connection left.
    private func drainInBackground(_ generation: Generation, hardStopAfterMs: Int) {
        let generations = self.generations
        let logger = self.logger
        Thread.detachNewThread {
            let deadline = hardStopAfterMs > 0 ? MonotonicClock.nowMilliseconds() + Int64(hardStopAfterMs) : Int64.max
            while !generation.isStopped
                && (!generation.engine.hasStoppedAccepting || generation.engine.openConnections > 0)
                && MonotonicClock.nowMilliseconds() < deadline
            {
                usleep(20_000)
            }
            let left = generation.engine.openConnections
            if left > 0 && !generation.isStopped {
                logger.warning(
                    "reload: hard stop: closing the previous configuration's connections still open",
                    metadata: [
                        "generation": "\(generation.number)", "open": "\(left)", "hard_stop_after_ms": "\(hardStopAfterMs)",
                    ]
                )
            } else {
                logger.debug("reload: the previous configuration's connections finished", metadata: ["generation": "\(generation.number)"])
            }
            generation.stop()
            generations.retire(generation)
            // The engine's slot tables and rings are freed now, into the heap of whichever thread allocated them
            // (a reload's runs on a pool thread): handed back to the kernel, so that the memory at rest after
            // reloads is what the running configuration uses (bench/soak checks it).
            ProcessMemory.returnFreeMemory()
        }
    }

    /// Health scope `service` keeps a verdict per service index: services that stay keep theirs at their new
    /// index, new ones start up. Without that scope (or probes) there are none.
    private static func moveServiceVerdicts(of nodes: [NodeState], from old: BalancerConfig, to new: BalancerConfig) {
        let perService = new.health.enabled && new.health.scope == .service
        for node in nodes {
            let previous = node.servicesDownMask
            var mask: UInt64 = 0
            if perService {
                for (s, service) in new.services.enumerated() where s < 64 {
                    if let o = old.services.firstIndex(where: { $0.name == service.name }), o < 64, previous & (1 << UInt64(o)) != 0 {
                        mask |= 1 << UInt64(s)
                    }
                }
            }
            if mask != previous { node.replaceServicesDown(mask) }
        }
    }

    /// Where each probe target picks up: the verdict its node has now (so probing anew changes no state), and
    /// what the previous probe loop saw of the same node, host, port and service.
    private static func carried(
        _ targets: [HealthChecker.Target], nodes: [NodeState], config: BalancerConfig, previous: HealthChecker?,
        previousNodes: [NodeState]
    ) -> [HealthChecker.Carried?] {
        let reports = previous?.report ?? []
        return targets.map { target in
            let node = nodes[target.node]
            // A node new to this configuration starts as configured.
            guard previousNodes.contains(where: { $0 === node }) else { return nil }
            let isUp = target.service.map { !node.isServiceDown($0) } ?? node.isMarkedUp
            let seen = reports.first { report in
                previousNodes.indices.contains(report.target.node) && previousNodes[report.target.node] === node
                    && report.target.host == target.host && report.target.port == target.port
                    && report.target.serviceName == target.serviceName
            }
            guard let seen else { return HealthChecker.Carried(isUp: isUp) }
            return HealthChecker.Carried(
                isUp: isUp, lastResult: seen.lastResult, lastGood: seen.lastGood, since: seen.since, latency: seen.latency
            )
        }
    }

    /// What differs, one entry per kind of change.
    private static func changes(from before: Running, to config: BalancerConfig, hosts: [SocketAddress]) -> [String] {
        var changes: [String] = []
        let old = before.config
        let oldNodes = Dictionary(old.nodes.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        let added = config.nodes.filter { oldNodes[$0.name] == nil }
        let removed = old.nodes.filter { node in !config.nodes.contains { $0.name == node.name } }
        var changed: [String] = []
        for (n, node) in config.nodes.enumerated() {
            guard let o = oldNodes[node.name] else { continue }
            if old.nodes[o].host != node.host {
                changed.append("\(node.name) host \(old.nodes[o].host) -> \(node.host)")
            } else if before.hosts[o] != hosts[n] {
                changed.append("\(node.name) \(node.host) now resolves to \(Self.address(hosts[n]))")
            }
        }
        if !added.isEmpty { changes.append("nodes added: " + added.map { "\($0.name)=\($0.host)" }.joined(separator: ", ")) }
        if !removed.isEmpty {
            changes.append("nodes removed: " + removed.map(\.name).joined(separator: ", ") + " (open connections finish)")
        }
        if !changed.isEmpty { changes.append("nodes changed: " + changed.joined(separator: ", ")) }
        if old.nodes.map(\.name) != config.nodes.map(\.name) && added.isEmpty && removed.isEmpty {
            changes.append("nodes reordered")
        }

        func listen(_ service: BalancerConfig.Service, _ config: BalancerConfig) -> String {
            service.listenPath.map { "unix:\($0)" } ?? "\(Self.host(config.listenAddress)):\(service.listenPort)"
        }
        let addedServices = config.services.filter { service in !old.services.contains { $0.name == service.name } }
        let removedServices = old.services.filter { service in !config.services.contains { $0.name == service.name } }
        var changedServices: [String] = []
        for service in config.services {
            guard let previous = old.services.first(where: { $0.name == service.name }) else { continue }
            var what: [String] = []
            if listen(previous, old) != listen(service, config) { what.append("listen \(listen(previous, old)) -> \(listen(service, config))") }
            if previous.nodePort != service.nodePort { what.append("node port \(previous.nodePort) -> \(service.nodePort)") }
            if !what.isEmpty { changedServices.append("\(service.name) " + what.joined(separator: ", ")) }
        }
        if !addedServices.isEmpty {
            changes.append("services added: " + addedServices.map { "\($0.name)=\(listen($0, config))" }.joined(separator: ", "))
        }
        if !removedServices.isEmpty {
            changes.append("services removed: " + removedServices.map { "\($0.name)=\(listen($0, old))" }.joined(separator: ", "))
        }
        if !changedServices.isEmpty { changes.append("services changed: " + changedServices.joined(separator: ", ")) }
        changes += ConfigDifference.settings(from: old, to: config).map(\.description)
        return changes
    }

    /// An address without its port.
    private static func address(_ address: SocketAddress) -> String {
        let text = address.description
        guard let colon = text.lastIndex(of: ":") else { return text }
        let host = text[..<colon]
        return host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : String(host)
    }
}
