import Foundation
import Glibc
import Synchronization

/// Hosts of the test's own on one Ethernet segment: a namespace holding a bridge (the switch), a namespace per
/// host joined to it by a veth pair whose inner end is `eth0`, and this namespace (the test process, the client)
/// joined too. For what needs a real segment: ARP, VRRP between two balancers, an address that moves.
///
/// The segment is a /24 of 10.0.0.0/8 that no interface or route here uses yet: this namespace is `.1`, the hosts
/// `.2`, `.3`... in the order given, and `.200` and up are left free for floating addresses (`spare(_:)`).
///
/// Creating it needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN); without it `init` throws with the reason.
/// `remove()` (also on deinit, and when creation fails halfway) deletes the namespaces and this namespace's link;
/// stop the processes running inside first.
public final class BridgedNetwork: @unchecked Sendable {
    /// A host on the segment.
    public struct Host: Sendable {
        /// The namespace's name under /run/netns.
        public let namespace: String
        /// Its address on the segment (on `eth0`).
        public let address: String
        /// The command line that runs a command inside the host: append the command (`ip netns exec` execs it,
        /// so signals to the process reach it).
        public var wrapper: [String] { ["/usr/sbin/ip", "netns", "exec", namespace] }
    }

    /// The hosts, in the order given.
    public let hosts: [Host]
    /// This namespace's address on the segment.
    public let clientAddress: String
    /// `10.A.B`: the segment's first three octets.
    public let prefix: String
    private let switchNamespace: String
    private let clientLink: String
    private let removed = Atomic<Bool>(false)

    private static let made = Atomic<Int>(0)

    /// Creates the switch, one host per name (namespace `tlb-TAG-PID-N-NAME`) and this namespace's link.
    ///
    /// - Throws: `TestSocket.Failure` naming the `ip` command that failed and what it said.
    public init(tag: String, hosts names: [String]) throws {
        precondition(names.count < 190, "at most 189 hosts")
        let pid = Int(getpid())
        let instance = Self.made.add(1, ordering: .relaxed).newValue
        let base = "tlb-\(tag)-\(pid)-\(instance)"
        switchNamespace = "\(base)-sw"
        // Interface names have at most 15 characters.
        clientLink = "tlb\(pid % 1_000_000)c\(instance % 100)"
        var chosen: String?
        for attempt in 0..<64 {
            let block = (pid &* 7 &+ instance &* 3 &+ attempt &* 13) % (1 << 14)
            // 10.200.0.0 to 10.249.255.0: away from the /30s NetworkNamespace picks (10.0 to 10.255 by 64s).
            let candidate = "10.\(200 + (block >> 8) % 50).\(block & 255)"
            let subnet = "\(candidate).0/24"
            let addresses = try NetworkNamespace.ip(["-4", "-o", "addr", "show", "to", subnet])
            let routes = try NetworkNamespace.ip(["-4", "route", "show", "root", subnet])
            let wider = try NetworkNamespace.ip(["-4", "route", "show", "match", "\(candidate).1"])
            // Only the default route may cover it.
            let covering = wider.split(separator: "\n").filter { !$0.hasPrefix("default") }
            if addresses.isEmpty && routes.isEmpty && covering.isEmpty {
                chosen = candidate
                break
            }
        }
        guard let chosen else { throw TestSocket.Failure(description: "no unused 10.x /24 for network \(base)") }
        prefix = chosen
        clientAddress = "\(chosen).1"
        hosts = names.enumerated().map { Host(namespace: "\(base)-\($0.element)", address: "\(chosen).\($0.offset + 2)") }
        do {
            _ = try NetworkNamespace.ip(["netns", "add", switchNamespace])
        } catch {
            throw TestSocket.Failure(
                description: "cannot create network namespace \(switchNamespace) (running as uid \(getuid()); it needs "
                    + "root, or CAP_SYS_ADMIN and CAP_NET_ADMIN; CI runs the suite as root): \(error)"
            )
        }
        do {
            let sw = switchNamespace
            _ = try NetworkNamespace.ip(["-n", sw, "link", "add", "br0", "type", "bridge"])
            _ = try NetworkNamespace.ip(["-n", sw, "link", "set", "br0", "up"])
            _ = try NetworkNamespace.ip(["-n", sw, "link", "set", "lo", "up"])
            for (index, host) in hosts.enumerated() {
                _ = try NetworkNamespace.ip(["netns", "add", host.namespace])
                let port = "p\(index)"
                _ = try NetworkNamespace.ip(["-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", host.namespace])
                _ = try NetworkNamespace.ip(["-n", sw, "link", "set", port, "master", "br0", "up"])
                _ = try NetworkNamespace.ip(["-n", host.namespace, "link", "set", "lo", "up"])
                _ = try NetworkNamespace.ip(["-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", "eth0"])
                _ = try NetworkNamespace.ip(["-n", host.namespace, "link", "set", "eth0", "up"])
            }
            _ = try NetworkNamespace.ip(["link", "add", clientLink, "type", "veth", "peer", "name", "client", "netns", sw])
            _ = try NetworkNamespace.ip(["-n", sw, "link", "set", "client", "master", "br0", "up"])
            _ = try NetworkNamespace.ip(["addr", "add", "\(clientAddress)/24", "dev", clientLink])
            _ = try NetworkNamespace.ip(["link", "set", clientLink, "up"])
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// A free address on the segment for a floating address: `.200 + n`.
    public func spare(_ n: Int) -> String { "\(prefix).\(200 + n)" }

    /// Runs a command inside a host to completion.
    ///
    /// - Throws: `TestSocket.Failure` with its output when it exits with another status than 0.
    @discardableResult
    public func run(in host: Host, _ arguments: [String]) throws -> String {
        try NetworkNamespace.ip(["netns", "exec", host.namespace] + arguments)
    }

    /// Whether `host` holds `address` on one of its interfaces now.
    public func holds(_ host: Host, address: String) -> Bool {
        let listing = (try? NetworkNamespace.ip(["-n", host.namespace, "-4", "-o", "addr", "show"])) ?? ""
        return listing.contains(" \(address)/")
    }

    /// Deletes this namespace's link and every namespace. Idempotent; what is not there is skipped.
    public func remove() {
        guard !removed.exchange(true, ordering: .relaxed) else { return }
        _ = try? runCommand(NetworkNamespace.ip, ["link", "del", clientLink], timeout: 10)
        for host in hosts { _ = try? runCommand(NetworkNamespace.ip, ["netns", "del", host.namespace], timeout: 10) }
        _ = try? runCommand(NetworkNamespace.ip, ["netns", "del", switchNamespace], timeout: 10)
    }
}
