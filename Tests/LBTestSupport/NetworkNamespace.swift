import Foundation
import Glibc
import Synchronization

/// A network namespace of the test's own, joined to this one by a veth pair, for tests that need a host whose
/// packets can be dropped: this side and the namespace's side get the two addresses of a private /30
/// (10.0.0.0/8) that no interface or route here uses yet, so traffic to `address` goes into the namespace and
/// nowhere else.
///
/// Creating one needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN); without it `init` throws with the reason rather
/// than letting a test pass without having run. `remove()` (also on deinit, and when creation fails halfway)
/// deletes the namespace and the pair; a process still running inside keeps the namespace alive, so stop it
/// first.
public final class NetworkNamespace: @unchecked Sendable {
    /// The namespace's name under /run/netns, unique to this process and instance.
    public let name: String
    /// The namespace's end of the veth pair.
    public let address: String
    /// This namespace's end of the veth pair.
    public let hostAddress: String
    private let hostLink: String
    private let removed = Atomic<Bool>(false)

    static let ip = URL(fileURLWithPath: "/usr/sbin/ip")
    private static let nft = "/usr/sbin/nft"
    private static let made = Atomic<Int>(0)
    /// The nftables tables that drop everything (`dropPackets`) and count (`countAcceptedConnections`).
    private static let blackholeTable = "tlb_blackhole"
    private static let countTable = "tlb_count"
    /// The nftables table that drops a port's bare acknowledgements (`dropBareAcks`).
    private static let ackTable = "tlb_acks"

    /// Creates the namespace (`tlb-TAG-PID-N`), the veth pair and the addresses, and brings the links up.
    ///
    /// - Throws: `TestSocket.Failure` naming the `ip` command that failed and what it said.
    public init(tag: String) throws {
        let pid = Int(getpid())
        let instance = Self.made.add(1, ordering: .relaxed).newValue
        name = "tlb-\(tag)-\(pid)-\(instance)"
        // Interface names have at most 15 characters.
        hostLink = "tlb\(pid % 10_000_000)h\(instance % 100)"
        let namespaceLink = "tlb\(pid % 10_000_000)n\(instance % 100)"
        // A /30 picked from the process and instance, skipping any that is in use here (another run of the
        // suite, a container network).
        var chosen: (host: String, namespace: String)?
        for attempt in 0..<64 {
            let block = (pid &* 64 &+ instance &* 8 &+ attempt) % (1 << 22)
            let prefix = "10.\(block >> 14).\((block >> 6) & 255)"
            let base = (block & 63) << 2
            let subnet = "\(prefix).\(base)/30"
            let addresses = try Self.ip(["-4", "-o", "addr", "show", "to", subnet])
            // Routes to the /30 or inside it (broader ones, such as the default route, do not conflict).
            let routes = try Self.ip(["-4", "route", "show", "root", subnet])
            if addresses.isEmpty && routes.isEmpty {
                chosen = ("\(prefix).\(base + 1)", "\(prefix).\(base + 2)")
                break
            }
        }
        guard let chosen else { throw TestSocket.Failure(description: "no unused 10.x /30 for namespace \(name)") }
        hostAddress = chosen.host
        address = chosen.namespace
        do {
            _ = try Self.ip(["netns", "add", name])
        } catch {
            throw TestSocket.Failure(
                description: "cannot create network namespace \(name) (running as uid \(getuid()); it needs root, "
                    + "or CAP_SYS_ADMIN and CAP_NET_ADMIN; CI runs the suite as root): \(error)"
            )
        }
        do {
            _ = try Self.ip(["link", "add", hostLink, "type", "veth", "peer", "name", namespaceLink, "netns", name])
            _ = try Self.ip(["addr", "add", "\(hostAddress)/30", "dev", hostLink])
            _ = try Self.ip(["link", "set", hostLink, "up"])
            _ = try Self.ip(["-n", name, "link", "set", "lo", "up"])
            _ = try Self.ip(["-n", name, "addr", "add", "\(address)/30", "dev", namespaceLink])
            _ = try Self.ip(["-n", name, "link", "set", namespaceLink, "up"])
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// The command line that runs a command inside the namespace: append the command and use it as a process's
    /// wrapper. `ip netns exec` becomes the command (exec, no fork), so signals to the process reach it.
    public var wrapper: [String] { ["/usr/sbin/ip", "netns", "exec", name] }

    /// Runs a command inside the namespace to completion.
    ///
    /// - Throws: `TestSocket.Failure` with its output when it exits with another status than 0.
    @discardableResult
    public func run(_ arguments: [String]) throws -> String {
        try Self.ip(["netns", "exec", name] + arguments)
    }

    /// Drops every packet into and out of the namespace from now on (an nftables table at the raw priority, so
    /// established connections are cut too): a host that vanished without a word, as a pulled cable or a
    /// blackholing firewall leaves it. One nft transaction, so both directions start dropping at once.
    public func dropPackets() throws {
        let table = Self.blackholeTable
        try run([
            Self.nft,
            "add table inet \(table); "
                + "add chain inet \(table) input { type filter hook input priority -300; policy drop; }; "
                + "add chain inet \(table) output { type filter hook output priority -300; policy drop; }",
        ])
    }

    /// Lets packets through again (undoes `dropPackets`).
    public func passPackets() throws {
        try run([Self.nft, "delete table inet \(Self.blackholeTable)"])
    }

    /// Drops, from now on, the segments that servers inside the namespace send from `port` carrying nothing but
    /// an acknowledgement (flags exactly ACK, no payload: at most 64 bytes of IP, which is headers and options
    /// only): the answers to keepalive probes, while data still flows. Undone by `passBareAcks()`.
    public func dropBareAcks(port: Int) throws {
        let table = Self.ackTable
        try run([
            Self.nft,
            "add table inet \(table); add chain inet \(table) output { type filter hook output priority -300; }; "
                + "add rule inet \(table) output tcp sport \(port) tcp flags == ack ip length <= 64 counter drop",
        ])
    }

    /// How many segments `dropBareAcks` dropped.
    public func droppedBareAcks() throws -> Int {
        let listing = try run([Self.nft, "list chain inet \(Self.ackTable) output"])
        for line in listing.split(separator: "\n") where line.contains("drop") {
            let words = line.split(separator: " ")
            if let at = words.firstIndex(of: "packets"), at + 1 < words.count, let count = Int(words[at + 1]) {
                return count
            }
        }
        throw TestSocket.Failure(description: "no drop counter in: \(listing)")
    }

    /// Lets bare acknowledgements through again (undoes `dropBareAcks`).
    public func passBareAcks() throws {
        try run([Self.nft, "delete table inet \(Self.ackTable)"])
    }

    /// Counts, from now on, the connections that servers inside the namespace accept on `port`: the SYN-ACKs
    /// they send (a retransmitted one counts again). Read with `acceptedConnections(port:)`.
    public func countAcceptedConnections(port: Int) throws {
        let table = Self.countTable
        try run([
            Self.nft,
            "add table inet \(table); add chain inet \(table) output { type filter hook output priority 0; }; "
                + "add rule inet \(table) output tcp sport \(port) tcp flags & (syn | ack) == syn | ack counter",
        ])
    }

    /// The connections accepted on `port` since `countAcceptedConnections(port:)`.
    ///
    /// - Throws: `TestSocket.Failure` when nothing counts them.
    public func acceptedConnections(port: Int) throws -> Int {
        let listing = try run([Self.nft, "list chain inet \(Self.countTable) output"])
        for line in listing.split(separator: "\n") where line.contains("tcp sport \(port) ") {
            let words = line.split(separator: " ")
            if let at = words.firstIndex(of: "packets"), at + 1 < words.count, let count = Int(words[at + 1]) {
                return count
            }
        }
        throw TestSocket.Failure(description: "no counter for port \(port) in: \(listing)")
    }

    /// Deletes the veth pair and the namespace. Idempotent; what is not there is skipped.
    public func remove() {
        guard !removed.exchange(true, ordering: .relaxed) else { return }
        _ = try? runCommand(Self.ip, ["link", "del", hostLink], timeout: 10)
        _ = try? runCommand(Self.ip, ["netns", "del", name], timeout: 10)
    }

    /// Runs `ip arguments...`; returns its output (BridgedNetwork uses it too).
    static func ip(_ arguments: [String]) throws -> String {
        let result = try runCommand(ip, arguments, timeout: 10)
        guard result.status == 0 else {
            throw TestSocket.Failure(
                description: "ip \(arguments.joined(separator: " ")): exit \(result.status): \(result.stderr)\(result.stdout)"
            )
        }
        return result.stdout
    }
}
