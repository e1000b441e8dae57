import Foundation
import Glibc
import LBStandIn
import LBTestSupport
import Testing

// A container without a container engine, for the tests of what the image relies on (ContainerReadinessTests,
// ReleaseBinaryTests): network namespaces for the container and its nodes, a process started with exactly the
// environment a container gets, user 65534 with no capabilities, and the binary under test.

/// The image's user is not root; 65534 (nobody) stands in for it here.
let dropToUnprivileged = [
    "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
    "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
]


/// The variables a container gets for two stand-in nodes and two services on free ports.
func containerVariables(for group: StandInGroup, listenPorts: [Int], names: [String]) -> [String: String] {
    [
        "TESSERA_LB_NODES": group.hosts.enumerated().map { "\($1):tessera-\($0 + 1)" }.joined(separator: ","),
        "TESSERA_LB_LISTEN": "127.0.0.1",
        "TESSERA_LB_SERVICES": zip(names, zip(listenPorts, group.ports)).map { "\($0)=\($1.0):\($1.1)" }
            .joined(separator: ","),
        "TESSERA_LB_WORKERS": "2",
    ]
}


/// `tessera-lb health` as the image's HEALTHCHECK runs it: in the container's namespaces (PID `pid`'s), as
/// its user, with the admin listener at its default address. `said` is its output, both streams.
func containerHealth(pid: Int32) throws -> (status: Int32, said: String) {
    let result = try runCommand(
        URL(fileURLWithPath: "/usr/bin/nsenter"),
        ["--net=/proc/\(pid)/ns/net"] + dropToUnprivileged + [binaryUnderTest(), "health"],
        timeout: 20, environment: [:]
    )
    return (result.status, result.stdout + " " + result.stderr)
}

/// Stand-in Tessera nodes on Tessera's own ports (and an echo port, 9999, for long transfers), one per
/// address of the nodes' network namespace, named tessera-1, tessera-2, ...
func startNodes(in network: ContainerNetwork) throws -> [ChildProcess] {
    try network.nodeAddresses.enumerated().map { k, address in
        try ChildProcess(
            "/usr/bin/nsenter",
            ["--net=\(network.nodesNamespacePath)", binaryUnderTest(), "stand-in", "--host", address,
             "--name", "tessera-\(k + 1)", "--port", "p2p=9000", "--port", "thirdparty=9080", "--port", "q2t=9101",
             "--echo-port", "9999"],
            environment: [:]
        )
    }
}

/// `tessera-lb run` as a container runs it: its own network, PID and mount namespaces, the nodes' names in
/// its /etc/hosts (as Docker's and Kubernetes' DNS would give them), a read-only root file system, user
/// 65534 with no capabilities, no flag, and only `environment` (and PATH).
func startContainer(in network: ContainerNetwork, environment: [String: String]) throws -> ChildProcess {
    let script = """
        set -e
        mount --bind "$1" /etc/hosts
        mount -o remount,bind,ro /
        exec /usr/bin/nsenter --net="$2" \(dropToUnprivileged.joined(separator: " ")) "$3" run
        """
    return try ChildProcess(
        "/usr/bin/unshare",
        ["--mount", "--pid", "--kill-child", "--mount-proc", "--propagation", "private", "/bin/sh", "-c", script, "sh",
         network.hostsFile, network.balancerNamespacePath, binaryUnderTest()],
        environment: environment.merging(["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]) { a, _ in a }
    )
}

/// Runs `containerHealth(pid:)` until it exits 0 naming every one of `names`, or `seconds` pass. `said` is
/// the last output.
func containerHealthy(pid: Int32, naming names: [String], within seconds: Double = 10) throws -> (healthy: Bool, said: String) {
    var said = ""
    let healthy = try eventually(within: seconds, every: 100) {
        let result = try containerHealth(pid: pid)
        said = result.said
        return result.status == 0 && names.allSatisfy { said.contains($0) }
    }
    return (healthy, said)
}

/// Whether TESSERA_LB_TEST_BINARY names the binary under test (scripts/test sets it to the release build).
let releaseBinaryGiven = !(ProcessInfo.processInfo.environment["TESSERA_LB_TEST_BINARY"] ?? "").isEmpty

/// The binary under test: TESSERA_LB_TEST_BINARY when set, else the build next to the tests.
func binaryUnderTest() -> String {
    if let path = ProcessInfo.processInfo.environment["TESSERA_LB_TEST_BINARY"], !path.isEmpty { return path }
    return tesseraLBExecutable().path
}

/// A process started with exactly the given environment, nothing inherited, its output collected.
/// (BalancerProcess takes no environment.)
final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()
    private let lock = NSLock()
    private var collected = Data()

    init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.withLock { self.collected.append(data) }
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var log: String { lock.withLock { String(decoding: collected, as: UTF8.self) } }

    /// The first child of this process (unshare --fork's child), from /proc.
    var firstChild: Int32? {
        let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)
        return text?.split(separator: " ").first.flatMap { Int32($0) }
    }

    /// The first child once there is one, or nil after `seconds`: the balancer that unshare started, PID 1 of
    /// its namespace, which signals are sent to as a container engine sends them.
    func waitForFirstChild(seconds: Double = 5) -> Int32? {
        var child: Int32?
        return eventually(within: seconds) { child = firstChild; return child != nil } ? child : nil
    }

    /// Waits until `host:port` accepts connections, or the process ends, or `seconds` pass.
    func waitUntilListening(host: String, port: Int, seconds: Double = 10) -> Bool {
        eventually(within: seconds, every: 20) {
            (try? TestSocket(host: host, port: port, timeout: 1)) != nil || !process.isRunning
        } && process.isRunning
    }

    /// The exit status once the process has ended within `seconds`, else nil.
    func waitForExit(seconds: Double) -> Int32? {
        guard eventually(within: seconds, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    /// Sends `signal` and waits for the exit status (SIGKILL and nil after `seconds`).
    func stop(signal: Int32, seconds: Double = 10) -> Int32? {
        if process.isRunning { kill(pid, signal) }
        if let status = waitForExit(seconds: seconds) { return status }
        kill(pid, SIGKILL)
        process.waitUntilExit()
        return nil
    }

    deinit {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        output.fileHandleForReading.readabilityHandler = nil
    }
}

/// The fields of /proc/PID/status, by name.
struct ProcStatus {
    let fields: [String: String]

    init(pid: Int32) {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.fields = fields
    }

    subscript(name: String) -> String? { fields[name] }
}

/// A container's network, made of network namespaces: the balancer's, reached from the test as through a
/// published port (a veth pair from this namespace), and the nodes', reached from the balancer's over another
/// veth pair. Addresses come from 198.18.0.0/15, the range set aside for network tests (RFC 2544).
final class ContainerNetwork {
    let balancerNamespace: String
    let nodesNamespace: String
    let balancerAddress: String
    let nodeAddresses: [String]
    let hostsFile: String
    private let hostLink: String

    var balancerNamespacePath: String { "/run/netns/\(balancerNamespace)" }
    var nodesNamespacePath: String { "/run/netns/\(nodesNamespace)" }

    /// - Parameter nodes: how many node addresses (tessera-1, tessera-2, ...) the nodes' namespace gets.
    init(nodes: Int = 2) throws {
        let id = getpid()
        let subnet = Int(id) % 250 + 1
        balancerNamespace = "tlb-ctr-lb-\(id)"
        nodesNamespace = "tlb-ctr-nodes-\(id)"
        hostLink = "tlbh\(id)"
        balancerAddress = "198.18.\(subnet).2"
        nodeAddresses = (0..<nodes).map { "198.19.\(subnet).\(11 + $0)" }
        hostsFile = NSTemporaryDirectory() + "tessera-lb-hosts-\(id)"
        let lb = balancerNamespace, nodes = nodesNamespace
        let toBalancer = "tlbb\(id)", balancerToNodes = "tlbl\(id)", toNodes = "tlbn\(id)"
        remove()
        let steps: [[String]] = [
            ["netns", "add", lb],
            ["netns", "add", nodes],
            ["link", "add", hostLink, "type", "veth", "peer", "name", toBalancer, "netns", lb],
            ["addr", "add", "198.18.\(subnet).1/24", "dev", hostLink],
            ["link", "set", hostLink, "up"],
            ["-n", lb, "link", "set", "lo", "up"],
            ["-n", lb, "addr", "add", "\(balancerAddress)/24", "dev", toBalancer],
            ["-n", lb, "link", "set", toBalancer, "up"],
            ["-n", lb, "link", "add", balancerToNodes, "type", "veth", "peer", "name", toNodes, "netns", nodes],
            ["-n", lb, "addr", "add", "198.19.\(subnet).10/24", "dev", balancerToNodes],
            ["-n", lb, "link", "set", balancerToNodes, "up"],
            ["-n", nodes, "link", "set", "lo", "up"],
        ] + nodeAddresses.map { ["-n", nodes, "addr", "add", "\($0)/24", "dev", toNodes] } + [
            ["-n", nodes, "link", "set", toNodes, "up"],
        ]
        do {
            for step in steps {
                let result = try runCommand(URL(fileURLWithPath: "/usr/sbin/ip"), step, timeout: 10)
                guard result.status == 0 else {
                    throw TestSocket.Failure(description: "ip \(step.joined(separator: " ")): \(result.stderr)")
                }
            }
            let hosts = "127.0.0.1 localhost\n"
                + nodeAddresses.enumerated().map { "\($1) tessera-\($0 + 1)\n" }.joined()
            try hosts.write(toFile: hostsFile, atomically: true, encoding: .utf8)
            chmod(hostsFile, 0o644)
        } catch {
            remove()
            throw error
        }
    }

    /// Deletes the namespaces (and with them the veth pairs) and the hosts file; what is not there is skipped.
    func remove() {
        for namespace in [balancerNamespace, nodesNamespace] {
            _ = try? runCommand(URL(fileURLWithPath: "/usr/sbin/ip"), ["netns", "del", namespace], timeout: 10)
        }
        _ = try? runCommand(URL(fileURLWithPath: "/usr/sbin/ip"), ["link", "del", hostLink], timeout: 10)
        unlink(hostsFile)
    }
}
