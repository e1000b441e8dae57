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

/// The unix socket's file: who may connect, and that stopping removes only the file the balancer bound.
@Suite("unix-socket files", .serialized)
struct UnixSocketFileTests {
    private static func directory(_ tag: String) throws -> String {
        let dir = NSTemporaryDirectory() + "tlb-unix-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    private static func status(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    /// A listening unix socket bound at `path` by this test process.
    private static func bindSocket(at path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let rc = withUnsafePointer(to: &sun) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return rc == 0 && listen(fd, 1) == 0 ? fd : -1
    }

    @Test("on stop, a socket another process put at the path since is left alone", .timeLimit(.minutes(1)))
    func stopLeavesAnotherSocket() throws {
        let dir = try Self.directory("other")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/tm.ipc"
        let harness = try Harness(speaks: [.http(service: "q2t")]) { $0.services[0].listenPath = path }
        defer { harness.stop() }
        #expect(Self.status(path) != nil, "the balancer's socket is there")
        // Another balancer (an operator's restart gone wrong) takes the path over.
        unlink(path)
        let other = Self.bindSocket(at: path)
        try #require(other >= 0)
        defer { close(other) }
        let theirs = try #require(Self.status(path))
        harness.balancer.stop()
        let after = Self.status(path)
        #expect(after != nil, "the other process's socket file survives the stop")
        #expect(after?.st_ino == theirs.st_ino)
        // Its own file is still removed when nothing replaced it (UnixSocketTests checks that too).
    }

    @Test("--unix-mode and --unix-owner set the socket file's permissions and owner", .timeLimit(.minutes(1)))
    func modeAndOwner() throws {
        let group = try StandInGroup(count: 1, speaks: [.http(service: "q2t")])
        defer { group.stop() }
        let dir = try Self.directory("mode")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/tm.ipc"
        // Giving the file away takes CAP_CHOWN; without it, the balancer's own ids still exercise chown.
        let (user, grp): (UInt32, UInt32) = getuid() == 0 ? (65_534, 65_534) : (getuid(), getgid())
        let lb = try BalancerProcess([
            "run", "--no-health", "--node", group.hosts[0], "--service", "q2t=unix:\(path):\(group.ports[0])",
            "--unix-mode", "0660", "--unix-owner", "\(user):\(grp)",
        ])
        #expect(eventually { Self.status(path) != nil || !lb.isRunning }, "log: \(lb.log)")
        let info = try #require(Self.status(path), "log: \(lb.log)")
        #expect(info.st_mode & 0o777 == 0o660)
        #expect(info.st_uid == user)
        #expect(info.st_gid == grp)
        #expect(lb.stop() == 0, "log: \(lb.log)")
        #expect(Self.status(path) == nil, "its own socket file is removed on stop")
    }
}
