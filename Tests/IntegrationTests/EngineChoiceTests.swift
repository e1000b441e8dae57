import Foundation
import LBStandIn
import LBTestSupport
import Testing

/// `--engine`: which engine runs, and the fallback to epoll where io_uring is forbidden.
@Suite("engine choice", .serialized)
struct EngineChoiceTests {
    /// Runs the command under a seccomp filter that answers io_uring_setup with EPERM, as Docker's and
    /// containerd's default profiles do (libseccomp's Python binding, from Debian's python3-seccomp).
    static let withoutIoUring = [
        "/usr/bin/python3", "-c",
        """
        import errno, os, sys, seccomp
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        for call in ("io_uring_setup", "io_uring_enter", "io_uring_register"):
            f.add_rule(seccomp.ERRNO(errno.EPERM), call)
        f.load()
        os.execv(sys.argv[1], sys.argv[1:])
        """,
    ]

    private func start(_ engine: String, wrapper: [String]) throws -> (BalancerProcess, StandInGroup, Int) {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "q2t")])
        let port = freePort()
        var arguments = ["run", "--listen", "127.0.0.1", "--no-health", "--admin", "off", "--engine", engine]
        for host in group.hosts { arguments += ["--node", host] }
        arguments += ["--service", "q2t=\(port):\(group.ports[0])"]
        return (try BalancerProcess(arguments, wrapper: wrapper), group, port)
    }

    @Test("auto falls back to epoll where seccomp forbids io_uring, and says so", .timeLimit(.minutes(1)))
    func autoFallsBack() throws {
        let (balancer, group, port) = try start("auto", wrapper: Self.withoutIoUring)
        defer { group.stop() }
        #expect(balancer.waitUntilListening(port: port), "log: \(balancer.log)")
        let client = try TestSocket(host: "127.0.0.1", port: port)
        #expect(try HTTPExchange.get("/", on: client).status == 200, "it forwards")
        #expect(eventually { balancer.log.contains("engine=epoll") }, "log: \(balancer.log)")
        let log = balancer.log
        #expect(log.contains("io_uring unavailable, io_uring_setup: EPERM"), "says why; log: \(log)")
        client.close()
        #expect(balancer.stop() == 0)
    }

    @Test("io_uring asked for where seccomp forbids it: exit status 1 with the reason", .timeLimit(.minutes(1)))
    func explicitIoUringRefuses() throws {
        let (balancer, group, _) = try start("io_uring", wrapper: Self.withoutIoUring)
        defer { group.stop() }
        #expect(eventually(within: 10) { !balancer.isRunning })
        #expect(balancer.process.terminationStatus == 1)
        #expect(balancer.log.contains("--engine io_uring: io_uring_setup: EPERM"), "log: \(balancer.log)")
    }

    @Test("auto runs io_uring where the kernel allows it", .timeLimit(.minutes(1)))
    func autoPicksIoUring() throws {
        let (balancer, group, port) = try start("auto", wrapper: [])
        defer { group.stop() }
        #expect(balancer.waitUntilListening(port: port), "log: \(balancer.log)")
        let client = try TestSocket(host: "127.0.0.1", port: port)
        #expect(try HTTPExchange.get("/", on: client).status == 200)
        #expect(eventually { balancer.log.contains("engine=io_uring") }, "log: \(balancer.log)")
        #expect(balancer.log.contains("auto: io_uring works here"), "log: \(balancer.log)")
        client.close()
        #expect(balancer.stop() == 0)
    }
}
