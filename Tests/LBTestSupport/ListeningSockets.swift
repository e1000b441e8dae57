import Foundation

/// The inodes of the IPv4 TCP sockets listening on `port` in this network namespace (from /proc/net/tcp): the
/// identity of the listening sockets themselves, so a test can tell a socket that stayed open from one that was
/// closed and opened again on the same port.
public func listeningSocketInodes(port: Int) -> Set<String> {
    // /proc/net/tcp is produced in pieces while other sockets come and go, so one read can miss a line: read
    // until two reads agree.
    var last = readListeningSocketInodes(port: port)
    for _ in 0..<5 {
        let next = readListeningSocketInodes(port: port)
        if next == last { return next }
        last = next
    }
    return last
}

private func readListeningSocketInodes(port: Int) -> Set<String> {
    guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return [] }
    let wanted = String(format: ":%04X", port)
    var inodes: Set<String> = []
    for line in table.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        guard fields.count > 9, fields[1].hasSuffix(wanted), fields[3] == "0A" else { continue }
        inodes.insert(String(fields[9]))
    }
    return inodes
}
