public import LBStandIn

/// Stand-in nodes on consecutive loopback addresses (127.0.0.2, 127.0.0.3, ...), all on the same ports, the
/// way an HA group's nodes listen on the same ports at different hosts.
public final class StandInGroup: @unchecked Sendable {
    public let nodes: [StandInNode]
    /// The ports every node serves, in the order given.
    public let ports: [Int]

    /// - Parameter speaks: what each port speaks; every port is bound on a free port number.
    public init(count: Int, speaks: [StandInProtocol], firstHost: Int = 2, workers: Int = 1) throws {
        var lastError: (any Error)?
        for _ in 0..<20 {
            do {
                let first = try StandInNode(
                    name: "n1", host: "127.0.0.\(firstHost)", ports: speaks.map { .init(0, $0) }, workers: workers
                )
                var nodes = [first]
                do {
                    for k in 1..<count {
                        nodes.append(
                            try StandInNode(
                                name: "n\(k + 1)", host: "127.0.0.\(firstHost + k)",
                                ports: zip(first.boundPorts, speaks).map { .init($0, $1) }, workers: workers
                            )
                        )
                    }
                } catch {
                    for node in nodes { node.stop() }
                    throw error
                }
                self.nodes = nodes
                self.ports = first.boundPorts
                return
            } catch {
                lastError = error  // the port the kernel chose was taken on another address: try another
            }
        }
        throw lastError!
    }

    /// The nodes' hosts, for the balancer's node list.
    public var hosts: [String] { nodes.map(\.host) }

    public func stop() { for node in nodes { node.stop() } }

    deinit { stop() }
}
