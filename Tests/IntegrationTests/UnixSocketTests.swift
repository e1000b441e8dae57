import Foundation
import LBConfig
import LBStandIn
import LBTestSupport
import Testing
import TesseraLB

/// GoQuorum's `tm.ipc`: a service listening on a unix socket, forwarded to the nodes' TCP Q2T port.
@Suite("unix-socket services")
struct UnixSocketTests {
    @Test("a client on the unix socket reaches both nodes over TCP", .timeLimit(.minutes(1)), arguments: allModes)
    func ipcReachesBothNodes(dataPath: DataPath) throws {
        let dir = NSTemporaryDirectory() + "tessera-lb-ipc-\(getpid())-\(dataPath.name)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/tm.ipc"
        // A stale socket from an earlier run must not stop the listener.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        _ = withUnsafePointer(to: &sun) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(stale)

        let harness = try Harness(speaks: [.http(service: "q2t")], path: dataPath) { config in
            config.services[0].listenPath = path
        }
        defer { harness.stop() }
        var answered = Set<String>()
        for _ in 0..<8 {
            // GoQuorum opens a new unix connection for every request.
            let client = try TestSocket(unixPath: path)
            let reply = try HTTPExchange.get("/transaction/abc", on: client, close: true)
            #expect(reply.status == 200)
            answered.insert(reply.node ?? "?")
        }
        #expect(answered == ["n1", "n2"])
        harness.balancer.stop()
        #expect(!FileManager.default.fileExists(atPath: path), "the socket file is removed on stop")
    }
}
