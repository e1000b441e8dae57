import Glibc
import LBAdminServer
import LBConfig
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization
import TesseraLB
import UnixSignals

// `tessera-lb run` as a service group (docs/internals/lifecycle.md). The group shuts its services down one at a
// time in the reverse of their order, and each stop step of the balancer is one service, so the list in
// `RunCommand` is also the stop order read backwards: the drain, then the admin listener, then the workers,
// and the signals last.

/// The run's signals, all in one place. SIGHUP reloads until the first SIGTERM or SIGINT, which shuts the
/// group down gracefully; after that SIGHUP is ignored with a warning, and a second SIGTERM or SIGINT ends the
/// process at once with status 1, whatever the stop is doing (the accept grace, the drain). First in the group,
/// so it is shut down last: it takes signals until the workers are stopped.
struct SignalService: Service {
    /// SIGTERM, SIGINT and SIGHUP, trapped before the listeners opened: a signalfd each, which needs a descriptor
    /// (`trapping`). One that came before the group runs waits here.
    let signals: UnixSignalsSequence
    let stopping: Stopping
    let reloader: Reloader
    let logger: Logger

    /// The signals `run` takes, as a sequence whose sources are registered now.
    static func trapping() async -> UnixSignalsSequence {
        await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
    }

    func run() async {
        for await signal in signals.cancelOnGracefulShutdown() {
            let name = "\(signal)"
            if signal == .sighup {
                if stopping.signal == nil {
                    // A reload waits for the previous probe loop to end: not on a thread that runs tasks.
                    let reloader = self.reloader
                    await offTaskThreads { _ = reloader.reload(from: name) }
                } else {
                    logger.warning("reload ignored: stopping", metadata: ["signal": "\(name)"])
                }
            } else if await !stopping.begin(name) {
                logger.warning("second signal: exiting without waiting for connections", metadata: ["signal": "\(name)"])
                Glibc.exit(1)
            }
        }
    }
}

/// The first step of the stop, the first service the group shuts down: not ready at once (`/readyz` 503,
/// `tessera-lb health` fails) but still accepting for the accept grace, the time keepalived or a Service needs
/// to send new clients elsewhere, so that none is refused meanwhile; then the listeners close and open
/// connections get up to the drain timeout.
struct DrainService: Service {
    let balancer: Balancer
    let stopping: Stopping
    let logger: Logger

    func run() async {
        // Cancelled rather than shut down (the group failed): no grace and no drain.
        guard (try? await gracefulShutdown()) != nil else { return }
        let signal = stopping.signal ?? "-"
        balancer.beginStopping()
        let grace = balancer.config.acceptGraceMs
        if grace > 0 {
            logger.info(
                "stopping: not ready, still accepting during the accept grace",
                metadata: ["signal": "\(signal)", "accept_grace_ms": "\(grace)", "open": "\(balancer.openConnections)"]
            )
            await pause(milliseconds: grace)
        }
        let timeout = balancer.config.drainTimeoutMs
        logger.info(
            "draining: listeners closed, waiting for open connections",
            metadata: ["signal": "\(signal)", "open": "\(balancer.openConnections)", "timeout_ms": "\(timeout)"]
        )
        let left = await balancer.drain(timeoutMs: timeout)
        if left > 0 { logger.warning("drain timeout: closing the connections still open", metadata: ["open": "\(left)"]) }
    }
}

/// The admin listener. It stays up through the drain (the status page shows it) and reads the workers'
/// counters: shut down after the drain and before the workers.
struct AdminService: Service {
    let server: AdminServer

    func run() async {
        try? await gracefulShutdown()
        let server = self.server
        await offTaskThreads { server.stop() }
    }
}

/// The workers, the probe loop and the group check, started before the group runs (`Balancer.start`); stopped
/// last, once nothing reads them: whatever connection is still open is closed.
struct BalancerService: Service {
    let balancer: Balancer
    let logger: Logger

    func run() async {
        try? await gracefulShutdown()
        let balancer = self.balancer
        await offTaskThreads { balancer.stop() }
        logger.info("stopped")
    }
}

/// Whether the run is stopping, and the signal that began it (the stop's log lines name it). The first
/// SIGTERM or SIGINT shuts down the group it is attached to.
final class Stopping: Sendable {
    private let state = Mutex<(signal: String?, group: ServiceGroup?)>((nil, nil))

    /// The signal that began the stop; nil while running.
    var signal: String? { state.withLock { $0.signal } }

    /// The group the first signal shuts down (made after its services, this among them).
    func attach(_ group: ServiceGroup) {
        state.withLock { $0.group = group }
    }

    /// Begins the stop with `signal`: shuts the group down gracefully. False when the stop had begun already.
    func begin(_ signal: String) async -> Bool {
        let group: ServiceGroup?? = state.withLock { state in
            guard state.signal == nil else { return .none }
            state.signal = signal
            return .some(state.group)
        }
        guard case .some(let attached) = group else { return false }
        await attached?.triggerGracefulShutdown()
        return true
    }
}

/// Runs `work`, which blocks (joins threads, waits for an event loop or the probe loop to end), on NIO's pool
/// for blocking work, never on one of the few threads that run tasks: what it waits for may need them. Not
/// cancellable: a stop runs to its end.
func offTaskThreads(_ work: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        // The shared pool is never shut down: the work always runs.
        NIOThreadPool.singleton.submit { _ in
            work()
            done.resume()
        }
    }
}
