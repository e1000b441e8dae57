import LBBalancing

/// What one probe saw.
public enum ProbeResult: Sendable, Equatable, CustomStringConvertible {
    case healthy
    /// The node answered with another status than expected.
    case status(Int)
    /// The status was right but the body lacked the expected text (e.g. `Database unavailable`).
    case bodyMismatch(String)
    /// No complete answer within the timeout (connect, send and the whole response).
    case timeout
    case refused
    case reset
    case tlsError(String)
    /// The port answered, but not with an HTTP status line (a banner, an echo, TLS bytes): most likely the
    /// probe points at a port that is not the node's Tessera HTTP server.
    case notHTTP
    /// The port accepted the connection, which was closed before the request went out: the server closed it at
    /// once, or spoke first (a banner, as SSH, SMTP or MySQL send), which no HTTP server does.
    case closedBeforeRequest
    case other(String)

    public var isHealthy: Bool { self == .healthy }

    public var description: String {
        switch self {
        case .healthy: "healthy"
        case .status(let code):
            code == 401
                ? "status 401 (the node's useWhiteList probably rejects the balancer's address)"
                : "status \(code)"
        // The node's own text: escaped, so an answer with a newline cannot forge a log line, and cut.
        case .bodyMismatch(let body): "body without the expected text: \(OneLine.quoted(body))"
        case .timeout: "timeout"
        case .refused: "connection refused"
        case .reset: "connection reset"
        case .tlsError(let text): "TLS error: \(OneLine.clean(text))"
        case .notHTTP: "not an HTTP response (is --health-port the node's P2P port?)"
        case .closedBeforeRequest:
            "closed before the request was sent: the port closed at once or spoke first (is --health-port the node's P2P port?)"
        case .other(let text): OneLine.clean(text)
        }
    }
}
