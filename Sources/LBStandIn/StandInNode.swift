import LBSystem
import LBEngine
import Synchronization
import Glibc

/// The one stand-in Tessera node of tessera-lb: used by the tests, `bench/` and the demo.
///
/// Fast enough never to be the bottleneck (one epoll thread per worker, precomputed answers), it answers
/// `GET /upcheck` with 200 `I'm up!` like every Tessera version, and can be told to refuse, hang, fail or
/// reset while it runs (`setMode`, or a line on its control port from another process).
public final class StandInNode: Sendable {
    /// One port the node serves, and what it speaks there.
    public struct Port: Sendable {
        public var port: Int
        public var speaks: StandInProtocol
        public init(_ port: Int, _ speaks: StandInProtocol) {
            self.port = port
            self.speaks = speaks
        }
    }

    /// Tessera's three servers on their default ports.
    public static let tesseraPorts: [Port] = [
        Port(9000, .http(service: "p2p")), Port(9080, .http(service: "thirdparty")), Port(9101, .http(service: "q2t")),
    ]

    public let name: String
    public let host: String
    /// The ports actually bound, in the order given (a requested 0 becomes the kernel's choice).
    public let boundPorts: [Int]
    private let state = StandInState()
    private let workers: [StandInWorker]
    private let threads = Mutex<[WorkerThread]>([])
    private let control: StandInControl?
    /// Its keys, version and the partyinfo it has learned (per process, as Tessera's).
    public let tessera: TesseraModel

    /// Binds every port on `host` (all workers share each port with SO_REUSEPORT) and starts serving.
    ///
    /// - Parameters:
    ///   - controlPort: when given, a TCP port on `host` taking lines such as `mode hang` from other processes.
    /// - Throws: `SystemError` when a port cannot be bound.
    public init(
        name: String, host: String = "127.0.0.1", ports: [Port], workers: Int = 1, controlPort: Int? = nil,
        tessera: TesseraModel = TesseraModel()
    ) throws {
        // A client that resets while a long answer (GET /bytes/N) is still being written must cost the node
        // that connection (EPIPE), not its life: write(2) raises SIGPIPE otherwise.
        ProcessSetup.ignoreSIGPIPE()
        self.name = name
        self.host = host
        self.tessera = tessera
        var resolved = ports
        var built: [StandInWorker] = []
        for w in 0..<max(1, workers) {
            let worker = try StandInWorker(name: name, host: host, ports: resolved, model: tessera)
            if w == 0 { for i in resolved.indices { resolved[i].port = worker.boundPort(i) } }
            built.append(worker)
        }
        boundPorts = resolved.map(\.port)
        // Advertised as its P2P server (or its first HTTP one).
        let p2p = resolved.first { $0.speaks == .http(service: "p2p") } ?? resolved.first { $0.speaks != .echo }
        if tessera.url.isEmpty, let p2p {
            tessera.url = "http://\(host.contains(":") ? "[\(host)]" : host):\(p2p.port)"
        }
        self.workers = built
        if let controlPort {
            control = try StandInControl(host: host, port: controlPort)
        } else {
            control = nil
        }
        for worker in built {
            let thread = WorkerThread { [state] in worker.run(state: state) }
            threads.withLock { $0.append(thread) }
        }
        control?.start(tessera: tessera) { [state, built] mode in
            state.modeCode.store(mode.code, ordering: .relaxed)
            for worker in built { worker.wake() }
        }
    }

    /// The control port actually bound, if any.
    public var controlPort: Int? { control?.port }

    /// The current behaviour.
    public var mode: StandInMode { state.mode }

    /// Switches behaviour, and returns once every worker has applied it (a refusing node refuses from then on).
    public func setMode(_ mode: StandInMode) {
        state.modeCode.store(mode.code, ordering: .relaxed)
        for worker in workers { worker.wake() }
        for _ in 0..<1000 where !workers.allSatisfy({ $0.applied.load(ordering: .relaxed) == mode.code }) {
            usleep(1000)
        }
    }

    /// HTTP requests answered so far.
    public var requestsServed: Int { state.requests.load(ordering: .relaxed) }
    /// Connections accepted so far.
    public var connectionsAccepted: Int { state.accepted.load(ordering: .relaxed) }

    /// Stops serving and closes every descriptor. Idempotent.
    public func stop() {
        guard !state.stopping.exchange(true, ordering: .relaxed) else { return }
        control?.stop()
        for worker in workers { worker.wake() }
        for thread in threads.withLock({ $0 }) { thread.join() }
    }

    deinit { stop() }
}

/// What a stand-in's threads share: its mode, counters and the stop flag.
final class StandInState: Sendable {
    let modeCode = Atomic<Int>(StandInMode.up.code)
    /// HTTP requests answered and connections accepted, across workers.
    let requests = Atomic<Int>(0)
    let accepted = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)

    var mode: StandInMode { StandInMode(code: modeCode.load(ordering: .relaxed)) }
}
