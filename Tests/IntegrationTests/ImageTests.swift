import Foundation
import Glibc
import LBStandIn
import LBTestSupport
import Testing

/// The image itself, built from the Dockerfile by scripts/build-image and run with podman: configured by the
/// environment alone, on the host's network (so that every byte stays on loopback) in front of stand-in nodes,
/// under podman's default seccomp profile, which has no io_uring.
@Suite("the image, built and run with podman", .serialized, .enabled(if: Podman.available, "podman is not installed (scripts/install-deps test installs it, so CI runs these tests)"))
struct ImageTests {
    /// A balancer container on the host's network in front of `group`: services p2p and bulk (the group's
    /// two ports) on free loopback ports, the admin listener on a free port, the rest the image's defaults.
    final class BalancerContainer {
        let container: Container
        let ports: [Int]
        let admin: Int

        init(_ what: String, group: StandInGroup, options: [String] = [], environment extra: [String: String] = [:]) throws {
            let free = distinctFreePorts(3)
            ports = Array(free[0..<2])
            admin = free[2]
            var environment = containerVariables(for: group, listenPorts: ports, names: ["p2p", "bulk"])
            environment["TESSERA_LB_ADMIN"] = "127.0.0.1:\(admin)"
            environment["TESSERA_LB_HEALTH_INTERVAL"] = "200"
            environment.merge(extra) { $1 }
            container = try Container(
                name: Podman.uniqueName(what),
                ["--network", "host"] + options + environment.sorted { $0.key < $1.key }.flatMap { ["-e", "\($0)=\($1)"] }
                    + [try TestImage.reference()]
            )
        }

        func waitUntilListening(seconds: Double = 30) -> Bool {
            eventually(within: seconds, every: 50) {
                ports.allSatisfy { (try? TestSocket(host: "127.0.0.1", port: $0, timeout: 1)) != nil }
            }
        }

        /// 1 MiB through the bulk service to an echo port, byte-exact.
        func echoes(seed: UInt64) throws -> Bool {
            let client = try TestSocket(host: "127.0.0.1", port: ports[1])
            defer { client.close() }
            let payload = TestData.bytes(count: 1 << 20, seed: seed)
            try client.send(payload)
            client.shutdownWrite()
            return try client.receiveAll() == payload
        }
    }

    @Test(
        "configured by the environment alone, as user 10001 on a read-only root with no capabilities, it serves through to the nodes on epoll under podman's default seccomp profile, and its HEALTHCHECK turns healthy, then unhealthy with no node up",
        .timeLimit(.minutes(5))
    )
    func servesFromTheEnvironment() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p"), .echo])
        defer { group.stop() }
        let balancer = try BalancerContainer(
            "serve", group: group, options: ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
        )
        try #require(balancer.waitUntilListening(), "listening; log: \(balancer.container.logs)")

        let upcheck = try TestSocket(host: "127.0.0.1", port: balancer.ports[0])
        #expect(try HTTPExchange.get("/upcheck", on: upcheck, close: true).body == "I'm up!")
        upcheck.close()
        for seed in 0..<3 { #expect(try balancer.echoes(seed: UInt64(seed)), "byte-exact; log: \(balancer.container.logs)") }

        // The image's user, the root file system and the capabilities, as the kernel sees the process.
        let pid = try balancer.container.pid()
        let status = ProcStatus(pid: pid)
        #expect(status["Uid"] == "10001\t10001\t10001\t10001", "\(status.fields)")
        #expect(status["Gid"] == "10001\t10001\t10001\t10001", "\(status.fields)")
        #expect(status["CapEff"] == "0000000000000000", "\(status.fields)")
        #expect(status["NoNewPrivs"] == "1")
        #expect(rootIsReadOnly(pid: pid) == true, "/proc/\(pid)/mountinfo")
        // podman's default profile answers io_uring_setup with ENOSYS: auto falls back to epoll and says why.
        #expect(status["Seccomp"] == "2", "a seccomp filter: \(status.fields)")
        let logs = balancer.container.logs
        #expect(logs.contains("engine=epoll"), "\(logs)")
        #expect(logs.contains("io_uring_setup: ENOSYS (a seccomp profile blocks it"), "the start-up line says why: \(logs)")

        // The image's own HEALTHCHECK (tessera-lb health), as podman runs it: healthy while a node is up.
        #expect(try balancer.container.inspect("{{.Config.Healthcheck.Test}}").contains("tessera-lb health"))
        var said = ""
        let healthy = try eventually(within: 30, every: 500) {
            let check = try balancer.container.healthCheck()
            said = check.stdout + check.stderr
            return check.status == 0
        }
        #expect(healthy, "podman healthcheck run: \(said); log: \(balancer.container.logs)")
        #expect(try balancer.container.inspect("{{.State.Health.Status}}") == "healthy")
        // No node up: the check fails, and after its retries (3) podman calls the container unhealthy.
        group.stop()
        let unhealthy = try eventually(within: 60, every: 500) {
            _ = try balancer.container.healthCheck()
            return try balancer.container.inspect("{{.State.Health.Status}}") == "unhealthy"
        }
        #expect(unhealthy, "log: \(balancer.container.logs)")
        let failed = try balancer.container.healthCheck()
        #expect(failed.status != 0, "\(failed.stdout) \(failed.stderr)")
    }

    @Test(
        "without a seccomp profile the same image runs on io_uring (the fallback above is the profile's doing)",
        .timeLimit(.minutes(2))
    )
    func ioUringUnconfined() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p"), .echo])
        defer { group.stop() }
        let balancer = try BalancerContainer("uring", group: group, options: ["--security-opt", "seccomp=unconfined"])
        try #require(balancer.waitUntilListening(), "listening; log: \(balancer.container.logs)")
        #expect(ProcStatus(pid: try balancer.container.pid())["Seccomp"] == "0")
        let logs = balancer.container.logs
        #expect(logs.contains("engine=io_uring"), "\(logs)")
        #expect(try balancer.echoes(seed: 9))
    }

    @Test(
        "podman stop: the balancer drains, a transfer open at the stop finishes byte-exact, and the container exits 0",
        .timeLimit(.minutes(3))
    )
    func stopDrains() throws {
        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p"), .echo])
        defer { group.stop() }
        let balancer = try BalancerContainer("stop", group: group)
        try #require(balancer.waitUntilListening(), "listening; log: \(balancer.container.logs)")

        let client = try TestSocket(host: "127.0.0.1", port: balancer.ports[1])
        defer { client.close() }
        let payload = TestData.bytes(count: 2 << 20, seed: 3)
        let half = payload.count / 2
        try client.send(Array(payload[..<half]))
        #expect(try client.receive(exactly: half) == Array(payload[..<half]))

        // podman stop, as docker stop: SIGTERM (the image's STOPSIGNAL), SIGKILL after the timeout.
        let stop = try ChildProcess(
            Podman.executable!, ["stop", "-t", "35", balancer.container.name], environment: Podman.environment
        )
        #expect(
            eventually(within: 20, every: 100) { balancer.container.logs.contains("draining") },
            "draining; log: \(balancer.container.logs)"
        )
        // Not accepting any more, and the open connection still carries bytes both ways.
        #expect(
            eventually(within: 10, every: 100) { (try? TestSocket(host: "127.0.0.1", port: balancer.ports[0], timeout: 1)) == nil },
            "the listeners close"
        )
        try client.send(Array(payload[half...]))
        client.shutdownWrite()
        #expect(try client.receiveAll() == Array(payload[half...]), "byte-exact after the stop")
        #expect(stop.waitForExit(seconds: 40) == 0, "podman stop: \(stop.log)")
        #expect(try balancer.container.inspect("{{.State.ExitCode}}") == "0", "log: \(balancer.container.logs)")
        #expect(try balancer.container.inspect("{{.State.Status}}") == "exited")
    }

    @Test(
        "scripts/build-image with every step run again, as on a new machine, leaves no firewall table of netavark's behind: loopback connections stay untracked",
        .timeLimit(.minutes(10))
    )
    func buildLeavesNoConnectionTracking() throws {
        try leavingNoConnectionTracking {
            // Any binary will do for an image that is thrown away: the debug build next to the tests.
            let tag = "localhost/tessera-lb-test:rebuilt-\(getpid())"
            var environment = Podman.environment
            environment["TESSERA_LB_IMAGE"] = tag
            environment["TESSERA_LB_IMAGE_NO_CACHE"] = "1"
            let log = NSTemporaryDirectory() + "tessera-lb-rebuild-\(getpid()).log"
            defer { unlink(log) }
            let build = try runCommand(
                URL(fileURLWithPath: "/bin/sh"), ["-c", "scripts/build-image \"$1\" > \"$0\" 2>&1", log, tesseraLBExecutable().path],
                timeout: 480, environment: environment, directory: DeployTests.root.path
            )
            // The stages' images, untagged once the tag is gone.
            defer {
                _ = try? Podman.run(["rmi", tag])
                _ = try? Podman.run(["image", "prune", "--force"])
            }
            let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            try #require(build.status == 0, "scripts/build-image: \(said.suffix(3000))")
            #expect(said.split(separator: "\n").last.map(String.init) == tag, "the reference on the last line")
            // Looked at before leavingNoConnectionTracking removes any: the build itself made none.
            #expect(NetavarkTables.owned().isEmpty, "the RUN steps ran on the host's network: \(NetavarkTables.owned())")
        }
    }

    @Test("the image is at most 150 MB, the binary most of it", .timeLimit(.minutes(2)))
    func size() throws {
        let image = try TestImage.reference()
        let size = try #require(Int(try Podman.output(["image", "inspect", "--format", "{{.Size}}", image])))
        #expect(size <= 150_000_000, "\(size) bytes")
        // What takes the space: the binary, from the image's own files.
        let root = try Podman.output(["image", "mount", image])
        defer { _ = try? Podman.run(["image", "unmount", image]) }
        let binary = try FileManager.default.attributesOfItem(atPath: root + "/usr/local/bin/tessera-lb")[.size] as? Int
        let binaryBytes = try #require(binary)
        #expect(binaryBytes > size / 2, "the binary, \(binaryBytes) bytes of \(size)")
        #expect(!FileManager.default.fileExists(atPath: root + "/bin/sh"), "no shell in the image")
    }
}
