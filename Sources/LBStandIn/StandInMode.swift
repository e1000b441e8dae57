/// How a stand-in node behaves, switchable while it runs (to stage the failures a balancer must survive).
public enum StandInMode: String, Sendable, CaseIterable {
    /// Answers like a healthy Tessera node.
    case up
    /// Closes its listeners and connections: connects are refused, as when the process is gone.
    case refuse
    /// Stops reading, answering and accepting (the kernel still completes handshakes), as under SIGSTOP.
    case hang
    /// Answers every HTTP request, `/upcheck` included, with 500.
    case fail
    /// Accepts, then resets every connection.
    case reset
    /// Answers 200 with another body (`Database unavailable`, as one Tessera version's upcheck did).
    case wrongbody
    /// Answers correctly, but only after 2 seconds.
    case slow

    var code: Int { Self.allCases.firstIndex(of: self)! }
    init(code: Int) { self = Self.allCases[code] }
}

/// What a stand-in port speaks.
public enum StandInProtocol: Sendable, Equatable {
    /// Tessera's HTTP/1.1 servers: `/upcheck` answers `I'm up!`, other paths a ~1 KiB JSON document naming
    /// the node and service (Q2T-like), keep-alive, pipelining, request bodies by Content-Length or chunked.
    case http(service: String)
    /// Raw TCP echo, with half-close: the client's FIN becomes ours once everything is echoed.
    case echo
}
