import Foundation
import LBStandIn
import LBTestSupport
import Testing

/// More services than a default io_uring submission queue holds (1024): each worker queues one accept per
/// listener before its ring can submit, which used to end the process with a failed precondition.
@Suite("many services", .serialized)
struct ManyServicesTests {
    /// One past the 1024 entries the ring used to have, with room for the wake-up poll.
    static let count = 1_100

    /// A directory for the services' unix sockets (ports are too few to pick 1100 free ones reliably).
    private static func socketDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "tlb-many-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    private static func config(_ group: StandInGroup, services: [[String: Any]]) -> [String: Any] {
        ["nodes": [["host": group.hosts[0], "name": group.nodes[0].name]], "services": services,
         "workers": 1, "engine": "io_uring", "health": ["enabled": false]]
    }

    private static func unixServices(in dir: String, nodePort: Int) -> [[String: Any]] {
        (0..<count).map { ["name": "s\($0)", "listenPath": "\(dir)/s\($0)", "nodePort": nodePort] }
    }

    /// A request on the last service's socket is answered by the node.
    private static func lastServiceAnswers(in dir: String) throws -> Bool {
        let client = try TestSocket(unixPath: "\(dir)/s\(count - 1)")
        return try HTTPExchange.get("/upcheck", on: client, close: true).status == 200
    }

    @Test("run on io_uring with 1100 services starts and forwards", .timeLimit(.minutes(1)))
    func runWithManyServices() throws {
        let group = try StandInGroup(count: 1, speaks: [.http(service: "q2t")])
        defer { group.stop() }
        let dir = try Self.socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lb = try ReloadTests.Reloadable(
            config: Self.config(group, services: Self.unixServices(in: dir, nodePort: group.ports[0])), ports: []
        )
        let up = eventually(within: 20) {
            FileManager.default.fileExists(atPath: "\(dir)/s\(Self.count - 1)") || !lb.process.isRunning
        }
        #expect(up && lb.process.isRunning, "the last socket is there and the process runs; log: \(lb.process.log)")
        #expect(try Self.lastServiceAnswers(in: dir), "log: \(lb.process.log)")
        #expect(lb.process.stop() == 0, "log: \(lb.process.log)")
    }

    @Test("a reload (POST /reload) to 1100 services on io_uring is applied, not fatal", .timeLimit(.minutes(1)))
    func reloadToManyServices() throws {
        let group = try StandInGroup(count: 1, speaks: [.http(service: "q2t")])
        defer { group.stop() }
        let dir = try Self.socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = freePort()
        let lb = try ReloadTests.Reloadable(
            config: Self.config(group, services: [["name": "q2t", "listenPort": port, "nodePort": group.ports[0]]]),
            ports: [port]
        )
        try lb.rewrite(Self.config(group, services: Self.unixServices(in: dir, nodePort: group.ports[0])))
        // `ctl reload` is POST /reload on the admin listener (no token needed on loopback).
        let reload = try runCommand(tesseraLBExecutable(), ["ctl", "reload", "--admin", lb.admin], timeout: 30, environment: [:])
        #expect(reload.status == 0, "\(reload.stdout) \(reload.stderr) log: \(lb.process.log)")
        #expect(lb.lines(containing: "reloaded").count == 1, "log: \(lb.process.log)")
        #expect(lb.process.isRunning, "log: \(lb.process.log)")
        #expect(try Self.lastServiceAnswers(in: dir), "log: \(lb.process.log)")
        #expect(lb.process.stop() == 0, "log: \(lb.process.log)")
    }
}
