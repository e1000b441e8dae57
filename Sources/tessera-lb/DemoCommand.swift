import ArgumentParser
import Glibc
import LBAdminServer
import LBConfig
import LBStandIn
import Logging
import Foundation
import Synchronization
import TesseraLB

/// `tessera-lb demo`: two stand-in Tessera nodes on loopback and the balancer in front of them with the
/// Tessera defaults, on 127.0.0.1 so nothing is exposed.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the balancer in front of two stand-in Tessera nodes on loopback, and show what it does."
    )

    @Option(help: "Seconds between status lines (0: none).")
    var every: Double = 2

    @Option(help: "Stop by itself after this many seconds (0: run until Ctrl-C or SIGTERM).")
    var duration: Double = 0

    func run() throws {
        let logger = bootstrapStdoutLogging(label: "tessera-lb")
        let signals = SignalWaiter.blockTerminationSignals()
        var nodes: [StandInNode] = []
        do {
            for k in 1...2 {
                nodes.append(
                    try StandInNode(
                        name: "node\(k)", host: "127.0.0.\(k + 1)", ports: StandInNode.tesseraPorts, workers: 1, controlPort: 9999
                    )
                )
            }
        } catch {
            throw StartError(message: "demo: cannot start the stand-in nodes: \(error)")
        }
        var config = BalancerConfig()
        config.listenAddress = "127.0.0.1"
        config.nodes = nodes.map { .init(host: $0.host, name: $0.name) }
        let balancer: Balancer
        do {
            balancer = try Balancer(config: config, logger: logger)
        } catch {
            throw StartError(message: "demo: \(error.description)")
        }
        // The status page and control, on loopback like everything else here; before the balancer's listeners,
        // as `run` does.
        let admin = AdminServer(view: balancer.adminView, token: nil, logger: logger)
        let adminBound = (try? admin.bind(AdminEndpoint.standard)) != nil
        do {
            try balancer.start()
        } catch {
            admin.stop()
            throw StartError(message: "demo: \(error.description)")
        }
        admin.update(view: balancer.adminView)
        let adminAddress = adminBound ? (try? admin.start(at: AdminEndpoint.standard)).map { "http://\($0)/" } : nil
        print(
            """

            tessera-lb demo: two stand-in Tessera nodes (127.0.0.2, 127.0.0.3) behind the balancer on 127.0.0.1.
              curl http://127.0.0.1:9000/upcheck      # P2P
              curl http://127.0.0.1:9080/partyinfo/keys   # ThirdParty
              curl http://127.0.0.1:9101/send         # Q2T: the answer names the node
            Fail a node and watch the traffic move (from another shell):
              echo "mode refuse" > /dev/tcp/127.0.0.2/9999    (bash; modes: up refuse hang fail reset)
              echo "mode up" > /dev/tcp/127.0.0.2/9999
            Status page: \(adminAddress ?? "not started (127.0.0.1:9990 is taken)")   tessera-lb ctl status
            Ctrl-C stops the demo.

            """
        )
        if isatty(STDIN_FILENO) == 1 {
            print("On this terminal: type 1 or 2 (then Enter) to fail that node or bring it back, q to quit.\n")
            Keys(nodes: nodes).start()
        }
        let stopReporting = Reporter(balancer: balancer, nodes: nodes, every: every, duration: duration).start()
        let signal = signals.wait()
        stopReporting()
        logger.info("stopping", metadata: ["signal": "\(signal)"])
        admin.stop()
        balancer.stop()
        for node in nodes { node.stop() }
    }
}

/// Prints a status line per interval from its own thread; ends the demo after `duration` by raising SIGTERM
/// (which the main thread is waiting for).
private struct Reporter: @unchecked Sendable {
    let balancer: Balancer
    let nodes: [StandInNode]
    let every: Double
    let duration: Double

    /// Starts reporting; returns the function that stops it.
    func start() -> () -> Void {
        let stop = Atomic<Bool>(false)
        let box = StopBox(stop)
        let started = Date()
        Thread.detachNewThread { [self] in
            var last = Date()
            while !box.isStopped {
                usleep(50_000)
                if duration > 0 && Date().timeIntervalSince(started) >= duration {
                    kill(getpid(), SIGTERM)
                    return
                }
                if every > 0 && Date().timeIntervalSince(last) >= every {
                    last = Date()
                    print(statusLine())
                }
            }
        }
        return { box.stop() }
    }

    private func statusLine() -> String {
        let status = balancer.status()
        let perNode = zip(status.nodes, nodes).map { state, node in
            "\(state.name) [\(node.mode.rawValue)] \(state.state), \(state.activeConnections) open, \(node.requestsServed) requests served (probes too)"
        }
        return "connections: \(status.openConnections) open, \(status.acceptedConnections) total | "
            + perNode.joined(separator: " | ")
    }
}

private final class StopBox: @unchecked Sendable {
    private let flag: Atomic<Bool>
    init(_ flag: consuming Atomic<Bool>) { self.flag = flag }
    var isStopped: Bool { flag.load(ordering: .relaxed) }
    func stop() { flag.store(true, ordering: .relaxed) }
}

/// Keys on the demo's terminal: `1`/`2` fail a node (it refuses connections) or bring it back; `q` quits.
private struct Keys: @unchecked Sendable {
    let nodes: [StandInNode]

    func start() {
        Thread.detachNewThread { [nodes] in
            while let line = readLine() {
                let key = line.trimmingCharacters(in: .whitespaces)
                if key == "q" {
                    kill(getpid(), SIGTERM)
                    return
                }
                guard let k = Int(key), (1...nodes.count).contains(k) else {
                    print("keys: 1 or 2 toggle a node, q quits")
                    continue
                }
                let node = nodes[k - 1]
                let next: StandInMode = node.mode == .up ? .refuse : .up
                node.setMode(next)
                print(next == .up ? "\(node.name): back up" : "\(node.name): failed (refusing connections)")
            }
        }
    }
}
