import Foundation
import Glibc
import LBTestSupport
import Testing

// podman for the tests that build and run the real image (ImageTests, ImageDeployTests): the image built once
// per test run, containers that are removed when the test is done, and the facts of these machines (no
// registry; runc; limits no higher than the host's).

/// podman, run the way these machines allow it.
enum Podman {
    static let executable: String? = ["/usr/bin/podman", "/usr/local/bin/podman"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static var available: Bool { executable != nil }

    /// podman-compose: scripts/install-deps test puts it (from PyPI) in /opt/tessera-lb-venv.
    static let compose: String? = ["/opt/tessera-lb-venv/bin/podman-compose", "/usr/local/bin/podman-compose", "/usr/bin/podman-compose"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// A containers.conf of the tests' own (CONTAINERS_CONF): runc, since crun refuses some hosts' cgroup
    /// set-up, and default ulimits no higher than the host's, since podman's defaults (nofile 1048576, nproc
    /// 4194304) are more than the host gives and both runtimes refuse to raise a limit: nofile at this process's
    /// hard limit, nproc at 4096 (the balancer runs a thread per worker and a few more; runc was seen refusing
    /// 50000 where the host's hard limit was 96367). It applies to every container podman starts for the tests,
    /// also the pods' infra containers and those of `podman kube play` and podman-compose.
    static let configFile: String = {
        var files = rlimit(), processes = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files)
        getrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &processes)
        let nofile = min(files.rlim_max, 1_048_576)
        let nproc = min(processes.rlim_max, 4096)
        let text = """
            [containers]
            default_ulimits = ["nofile=\(nofile):\(nofile)", "nproc=\(nproc):\(nproc)"]

            [engine]
            runtime = "runc"

            """
        let path = NSTemporaryDirectory() + "tessera-lb-containers-\(getpid()).conf"
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    /// The test's environment, with `configFile`.
    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["CONTAINERS_CONF"] = configFile
        return environment
    }

    @discardableResult
    static func run(_ arguments: [String], timeout: Double = 120) throws -> CommandResult {
        guard let executable else { throw TestSocket.Failure(description: "podman is not installed") }
        return try runWithOutputInFiles(executable, arguments, timeout: timeout)
    }

    /// Runs `executable` with the podman environment, with no descriptor of this process but its output, and
    /// that going to files. A container's conmon inherits the descriptors of the podman that started it (also
    /// through podman-compose) and keeps them as long as the container runs: a pipe would never reach its end,
    /// and Foundation's Process, which learns of a child's end from a socket the child inherits, would wait
    /// for the container rather than for podman.
    static func runWithOutputInFiles(
        _ executable: String, _ arguments: [String], timeout: Double, directory: String? = nil
    ) throws -> CommandResult {
        let output = NSTemporaryDirectory() + "tessera-lb-podman-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(output + ".out"); unlink(output + ".err") }
        let result = try runCommand(
            URL(fileURLWithPath: "/bin/bash"),
            [
                "-c",
                """
                out="$1"; shift
                for fd in /proc/$$/fd/*; do n="${fd##*/}"; if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi; done 2>/dev/null
                "$@" > "$out.out" 2> "$out.err" < /dev/null
                """,
                "bash", output, executable,
            ] + arguments,
            timeout: timeout, environment: environment, directory: directory
        )
        return CommandResult(
            status: result.status,
            stdout: (try? String(contentsOfFile: output + ".out", encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? ""
        )
    }

    /// `run`, which must exit 0; its standard output, trimmed.
    static func output(_ arguments: [String], timeout: Double = 120) throws -> String {
        let result = try run(arguments, timeout: timeout)
        guard result.status == 0 else {
            throw TestSocket.Failure(description: "podman \(arguments.joined(separator: " ")): exit \(result.status): \(result.stderr)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A name no other test run uses.
    static func uniqueName(_ what: String) -> String { "tlb-test-\(getpid())-\(what)" }
}

/// The image under test: TESSERA_LB_TEST_IMAGE (scripts/test builds it once with scripts/build-image), else
/// built here, once for the whole test run, by scripts/build-image from TESSERA_LB_TEST_BINARY (or from a
/// release build of its own).
enum TestImage {
    private static let built: Result<String, any Error> = Result {
        let environment = ProcessInfo.processInfo.environment
        if let reference = environment["TESSERA_LB_TEST_IMAGE"], !reference.isEmpty { return reference }
        let log = NSTemporaryDirectory() + "tessera-lb-build-image-\(getpid()).log"
        // Its output to a file: podman build says more than a pipe holds.
        let result = try runCommand(
            URL(fileURLWithPath: "/bin/sh"),
            ["-c", "scripts/build-image \"$@\" > \"$0\" 2>&1", log] + [environment["TESSERA_LB_TEST_BINARY"] ?? ""].filter { !$0.isEmpty },
            timeout: 3600, environment: Podman.environment, directory: DeployTests.root.path
        )
        let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard result.status == 0, let reference = said.split(separator: "\n").last.map(String.init) else {
            throw TestSocket.Failure(description: "scripts/build-image failed: \(said.suffix(3000))")
        }
        return reference
    }

    static func reference() throws -> String { try built.get() }
}

/// A container started with `podman run -d`, removed (killed) when the test lets it go.
final class Container: @unchecked Sendable {
    let name: String

    init(name: String, _ arguments: [String]) throws {
        self.name = name
        _ = try? Podman.run(["rm", "-f", "-t", "0", name])
        _ = try Podman.output(["run", "-d", "--name", name] + arguments)
    }

    /// `podman inspect --format FORMAT`.
    func inspect(_ format: String) throws -> String { try Podman.output(["inspect", "--format", format, name]) }

    /// The container's main process, on the host.
    func pid() throws -> Int32 {
        let text = try inspect("{{.State.Pid}}")
        guard let pid = Int32(text), pid > 0 else { throw TestSocket.Failure(description: "\(name) has no process: \(text)") }
        return pid
    }

    /// Its address on its network (podman's default one unless the test says otherwise).
    func address() throws -> String { try inspect("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}") }

    /// What it wrote, both streams.
    var logs: String {
        guard let result = try? Podman.run(["logs", name]) else { return "" }
        return result.stdout + result.stderr
    }

    /// `podman healthcheck run`: the image's HEALTHCHECK, run once (these machines have no systemd to time it).
    func healthCheck() throws -> CommandResult { try Podman.run(["healthcheck", "run", name], timeout: 30) }

    func remove() { _ = try? Podman.run(["rm", "-f", "-t", "0", name]) }

    deinit { remove() }
}

/// Whether the root file system of process `pid` is mounted read-only, from its mountinfo.
func rootIsReadOnly(pid: Int32) -> Bool? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/mountinfo", encoding: .utf8) else { return nil }
    // "36 35 98:0 / / ro,relatime master:1 - overlay overlay rw,...": mount point is the fifth field, its
    // options the sixth.
    for line in text.split(separator: "\n") {
        let fields = line.split(separator: " ")
        if fields.count > 5 && fields[4] == "/" { return fields[5].split(separator: ",").contains("ro") }
    }
    return nil
}

/// `count` free loopback ports, all different (freePort can hand out the same port twice in a row).
func distinctFreePorts(_ count: Int) -> [Int] {
    var ports: [Int] = []
    while ports.count < count {
        let port = freePort()
        if !ports.contains(port) { ports.append(port) }
    }
    return ports
}

/// A podman bridge network of the test's own, on a subnet of 198.18.0.0/15 (the range set aside for network
/// tests, as ContainerNetwork's; it uses 198.19.1-250.x, these 198.19.251-255.x), not podman's 10.88/16, so
/// that the test's traffic goes to no private-range address. Removed, with the firewall tables netavark made for
/// it (NetavarkTables), by `remove()`.
final class BridgeNetwork {
    let name: String
    let subnet: String

    init(name: String, subnet: String) throws {
        self.name = name
        self.subnet = subnet
        // A network left by a run that was killed: same name, or the same subnet (netavark refuses an overlap).
        _ = try? Podman.run(["network", "rm", "-f", name])
        Self.removeTestNetworks(onSubnet: subnet)
        _ = try Podman.output(["network", "create", "--subnet", subnet, name])
    }

    /// The test networks (named tlb-test-...) on `subnet`, with their containers.
    static func removeTestNetworks(onSubnet subnet: String) {
        let names = (try? Podman.output(["network", "ls", "--format", "{{.Name}}"]))?.split(separator: "\n") ?? []
        for name in names where name.hasPrefix("tlb-test-") {
            let subnets = (try? Podman.output(["network", "inspect", "--format", "{{range .Subnets}}{{.Subnet}} {{end}}", String(name)])) ?? ""
            if subnets.split(separator: " ").contains(Substring(subnet)) { _ = try? Podman.run(["network", "rm", "-f", String(name)]) }
        }
    }

    func remove() {
        _ = try? Podman.run(["network", "rm", "-f", name])
        NetavarkTables.removeWhenIdle()
    }
}

/// The firewall tables netavark installs (through iptables-nft) when a container joins a bridge network, or a
/// `podman build` RUN step runs on one: `ip nat` and `ip filter`, which it never removes. While they exist the
/// kernel tracks every connection, loopback ones too, and the rest of the test suite fills nf_conntrack (262144
/// entries) until connects time out. So the tests that use a bridge network delete them when done: the tables
/// that hold nothing but netavark's chains (NETAVARK...) and base chains whose rules only jump to those, once
/// no container on a bridge network runs. A table with anyone else's chain or rule is left alone.
enum NetavarkTables {
    static let nft = URL(fileURLWithPath: "/usr/sbin/nft")
    private static let baseChains: Set<Substring> = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]

    /// The tables that are netavark's alone, as nft's ["family", "name"].
    static func owned() -> [[String]] {
        guard let tables = try? runCommand(nft, ["list", "tables"], timeout: 20), tables.status == 0 else { return [] }
        return tables.stdout.split(separator: "\n").compactMap { line -> [String]? in
            let words = line.split(separator: " ").map(String.init)
            guard words.count == 3, words[0] == "table",
                let listing = try? runCommand(nft, ["list", "table", words[1], words[2]], timeout: 20), listing.status == 0,
                isNetavarks(listing.stdout)
            else { return nil }
            return [words[1], words[2]]
        }
    }

    /// Whether `nft list table` output holds a chain of netavark's and nothing of anyone else's.
    static func isNetavarks(_ listing: String) -> Bool {
        var chain: Substring = ""
        var netavarkChains = 0
        for raw in listing.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line == "}" || line.hasPrefix("table ") { continue }
            if line.hasPrefix("chain ") {
                chain = line.dropFirst(6).split(separator: " ").first ?? ""
                if chain.hasPrefix("NETAVARK") { netavarkChains += 1 } else if !baseChains.contains(chain) { return false }
                continue
            }
            if chain.hasPrefix("NETAVARK") || line.hasPrefix("type ") { continue }
            // A rule in a base chain: netavark's only jump to its own chains.
            guard line.contains("jump NETAVARK") || line.contains("goto NETAVARK") else { return false }
        }
        return netavarkChains > 0
    }

    /// Deletes netavark's tables if no container on a bridge network runs (its traffic needs them; one on the
    /// host's network lists no network); what it deleted.
    @discardableResult
    static func removeWhenIdle() -> [[String]] {
        guard let networks = try? Podman.output(["ps", "--format", "{{.Networks}}"]),
            networks.split(separator: "\n").allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty })
        else { return [] }
        let tables = owned()
        for table in tables { _ = try? runCommand(nft, ["delete", "table"] + table, timeout: 20) }
        return tables
    }
}

/// Whether the kernel tracks a loopback connection: one made now to a listener of its own, looked for in
/// /proc/net/nf_conntrack by its two ports.
func loopbackIsTracked() throws -> Bool {
    let listener = try RawListener()
    let client = try TestSocket(host: "127.0.0.1", port: listener.port)
    defer { client.close() }
    let accepted = try listener.accept()
    defer { withExtendedLifetime(accepted) {} }
    var local = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &local) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(client.fd, $0, &length) }
    }
    let tuple = "sport=\(UInt16(bigEndian: local.sin_port)) dport=\(listener.port) "
    // grep: no file (conntrack not loaded) is not tracked either.
    return try runCommand(URL(fileURLWithPath: "/bin/grep"), ["-qF", "-e", tuple, "/proc/net/nf_conntrack"], timeout: 60).status == 0
}

/// Runs `body`, which puts containers on bridge networks and removes them, then checks that it left no table
/// of netavark's behind, and that loopback connections are tracked afterwards only if they were before.
func leavingNoConnectionTracking(_ body: () throws -> Void) throws {
    let trackedBefore = try loopbackIsTracked()
    do {
        defer { NetavarkTables.removeWhenIdle() }
        try body()
    }
    #expect(NetavarkTables.owned().isEmpty, "netavark's tables are gone: \(NetavarkTables.owned())")
    if !trackedBefore {
        #expect(try !loopbackIsTracked(), "loopback connections are not tracked after the test, as before it")
    }
}
