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
    public let timeoutSeconds: Int64

    public init(endpoint: AdminEndpoint, token: String?, timeoutSeconds: Int64 = 5) {
        self.endpoint = endpoint
        self.token = token
        self.timeoutSeconds = timeoutSeconds
    }

    /// `GET path`.
    public func get(_ path: String) throws(Failure) -> Answer { try send(.GET, path) }

    /// `POST path` with no body, with the bearer token when there is one.
    public func post(_ path: String) throws(Failure) -> Answer { try send(.POST, path) }

    private func send(_ method: HTTPMethod, _ path: String) throws(Failure) -> Answer {
        var headers = HTTPHeaders()
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        do {
            let request = try HTTPClient.Request(url: "http://\(endpoint)\(path)", method: method, headers: headers)
            let response = try HTTPClient.shared.execute(request: request, deadline: .now() + .seconds(timeoutSeconds)).wait()
            let body = response.body.map { String(buffer: $0) } ?? ""
            return Answer(status: Int(response.status.code), body: body)
        } catch {
            throw Failure(description: "cannot reach the admin listener at \(endpoint) (\(error))")
        }
    }
}
