import LBConfig
import LBForwarding
import LBStandIn
import LBSystem
import LBTestSupport
import Logging
import TesseraLB
import Testing

/// A balancer on 127.0.0.1 (ports chosen by the kernel) in front of the given nodes, for one test.
final class Harness: @unchecked Sendable {
    let balancer: Balancer
    let group: StandInGroup?

    /// - Parameters:
    ///   - hosts: node addresses; every service forwards to `nodePorts[i]` on each.
    ///   - nodePorts: one service per entry, named s0, s1...
    init(
        hosts: [String],
        nodePorts: [Int],
        group: StandInGroup? = nil,
        path: DataPath = .default,
        workers: Int = 2,
        configure: (inout BalancerConfig) -> Void = { _ in }
    ) throws {
        var config = BalancerConfig()
        config.listenAddress = "127.0.0.1"
        config.nodes = hosts.enumerated().map { .init(host: $1, name: "n\($0 + 1)") }
        config.services = nodePorts.enumerated().map { .init(name: "s\($0)", listenPort: 0, nodePort: $1) }
        config.workers = workers
        config.forward = path.mode
        config.engine = path.engine
        // Most tests drive nodes by hand (raw listeners, echo ports that do not speak HTTP): no probes unless a
        // test turns them on.
        config.health.enabled = false
        // Nor the group check's HTTP requests (GroupCheckTests turn it on).
        config.groupCheckIntervalMs = 0
        configure(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .error
        balancer = try Balancer(config: config, logger: logger)
        try balancer.start()
        self.group = group
    }

    /// A harness over a fresh stand-in group.
    convenience init(
        nodes: Int = 2,
        speaks: [StandInProtocol],
        path: DataPath = .default,
        workers: Int = 2,
        configure: (inout BalancerConfig) -> Void = { _ in }
    ) throws {
        let group = try StandInGroup(count: nodes, speaks: speaks)
        try self.init(hosts: group.hosts, nodePorts: group.ports, group: group, path: path, workers: workers, configure: configure)
    }

    /// The balancer's port for service `index`.
    func port(_ index: Int = 0) -> Int { balancer.listeningPorts[index] }

    /// A client connected to service `index` through the balancer.
    func connect(_ index: Int = 0, timeout: Double = 10) throws -> TestSocket {
        try TestSocket(host: "127.0.0.1", port: port(index), timeout: timeout)
    }

    var counters: [WorkerCounters] { balancer.counters }

    func stop() {
        balancer.stop()
        group?.stop()
    }

    deinit { stop() }
}

/// Deterministic test data: block `i` of 8 bytes is a xorshift of `i` and the seed, so a receiver can
/// regenerate what it expects and compare with memcmp.
enum TestData {
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, offset: Int, seed: UInt64) {
        precondition(offset % 8 == 0 && buffer.count % 8 == 0)
        let words = buffer.bindMemory(to: UInt64.self)
        var index = UInt64(offset / 8)
        for w in 0..<words.count {
            var x = index &* 0x9E37_79B9_7F4A_7C15 ^ seed
            x ^= x >> 31
            words[w] = x
            index &+= 1
        }
    }

    static func bytes(count: Int, offset: Int = 0, seed: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0, offset: offset, seed: seed) }
        return out
    }
}

/// An engine and a forwarding mode: what a data-path test runs under.
struct DataPath: Sendable, CustomTestStringConvertible {
    let engine: BalancerConfig.EngineChoice
    let mode: BalancerConfig.ForwardMode

    init(_ engine: BalancerConfig.EngineChoice, _ mode: BalancerConfig.ForwardMode = .auto) {
        self.engine = engine
        self.mode = mode
    }

    static let `default` = DataPath(.epoll)
    var name: String { "\(engine.rawValue)-\(mode.rawValue)" }
    var testDescription: String { "\(engine.rawValue), \(mode.rawValue)" }
    /// The same as `tessera-lb run` flags.
    var flags: [String] { ["--engine", engine.rawValue, "--forward", mode.rawValue] }
}

/// Both engines (the io_uring one must run here: asking for it explicitly fails the test if it cannot).
let allEngines: [DataPath] = [DataPath(.epoll), DataPath(.ioUring)]

/// Every engine in every forwarding mode: what every data-path test runs under.
let allModes: [DataPath] = allEngines.flatMap { e in
    [BalancerConfig.ForwardMode.splice, .copy, .auto].map { DataPath(e.engine, $0) }
}
