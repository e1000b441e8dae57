public import LBConfig
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Talks to a running balancer's admin listener: what `tessera-lb ctl` uses.
public struct AdminClient: Sendable {
    /// An answer: the HTTP status and the body as text.
    public struct Answer: Sendable {
        public let status: Int
        public let body: String
    }

    /// Why the admin listener could not be asked.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let endpoint: AdminEndpoint
    public let token: String?
    /// How long to wait for the answer, milliseconds.
    public let timeoutMs: Int64

    public init(endpoint: AdminEndpoint, token: String?, timeoutMs: Int64 = 5_000) {
        self.endpoint = endpoint
        self.token = token
        self.timeoutMs = timeoutMs
    }

    /// `GET path`.
    public func get(_ path: String) throws(Failure) -> Answer { try send(.GET, path) }

    /// `POST path` with no body, with the bearer token when there is one.
    public func post(_ path: String) throws(Failure) -> Answer { try send(.POST, path) }

    private func send(_ method: HTTPMethod, _ path: String) throws(Failure) -> Answer {
        var headers = HTTPHeaders()
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        // A client of its own: the shared one retries a refused connect until the deadline, so a balancer that
        // is gone would look like one that hangs, and `tessera-lb health` would take its whole timeout to say so
        // (keepalived's health script must fail fast).
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .milliseconds(timeoutMs)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        defer { try? client.syncShutdown() }
        do {
            let request = try HTTPClient.Request(url: "http://\(endpoint)\(path)", method: method, headers: headers)
            let response = try client.execute(request: request, deadline: .now() + .milliseconds(timeoutMs)).wait()
            let body = response.body.map { String(buffer: $0) } ?? ""
            return Answer(status: Int(response.status.code), body: body)
        } catch {
            throw Failure(description: "cannot reach the admin listener at \(endpoint) (\(error))")
        }
    }
}
