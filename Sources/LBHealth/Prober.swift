import AsyncHTTPClient
import Foundation
import LBBalancing
import NIOCore
import NIOHTTP1
import NIOSSL

/// How a probe asks and what counts as healthy.
public struct ProbeSettings: Sendable {
    public var path: String
    public var expectStatus: Int
    /// Text the body must contain; empty: any body.
    public var expectBody: String
    public var timeoutMs: Int
    public var tls: TLS?

    /// HTTPS for nodes whose P2P server uses TLS.
    public struct TLS: Sendable {
        public var caFile: String?
        public var certificateFile: String?
        public var keyFile: String?
        /// Set when the certificate names the advertised address rather than the node: the chain is verified,
        /// the host name is not (the HTTP client takes the name to check from the URL).
        public var serverName: String?
        public var insecure: Bool

        public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil, insecure: Bool = false) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.serverName = serverName
            self.insecure = insecure
        }
    }

    public init(path: String = "/upcheck", expectStatus: Int = 200, expectBody: String = "I'm up!", timeoutMs: Int = 1_000, tls: TLS? = nil) {
        self.path = path
        self.expectStatus = expectStatus
        self.expectBody = expectBody
        self.timeoutMs = timeoutMs
        self.tls = tls
    }
}

/// Sends `GET /upcheck` (HTTP/1.1, with a Host header, a new connection each time) and judges the answer.
/// Built on async-http-client, off the forwarding threads.
public final class Prober: Sendable {
    public let settings: ProbeSettings
    private let client: HTTPClient

    /// Checks that the TLS files can be read, without creating a client (which must be shut down).
    ///
    /// - Throws: the error reading a certificate or key file.
    public static func validate(_ settings: ProbeSettings) throws {
        _ = try tlsConfiguration(settings)
    }

    /// - Throws: when the TLS files cannot be read.
    init(settings: ProbeSettings) throws {
        self.settings = settings
        let tls = try Self.tlsConfiguration(settings)
        let timeout = TimeAmount.milliseconds(Int64(settings.timeoutMs))
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: timeout, read: timeout)
        )
        configuration.connectionPool = .init(idleTimeout: .milliseconds(100))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The HTTPS client settings for `settings.tls` (nil: plain HTTP); the group check asks with the same.
    package static func tlsConfiguration(_ settings: ProbeSettings) throws -> TLSConfiguration? {
        var tls: TLSConfiguration? = nil
        if let t = settings.tls {
            var c = TLSConfiguration.makeClientConfiguration()
            if let ca = t.caFile { c.trustRoots = .file(ca) }
            if let cert = t.certificateFile, let key = t.keyFile {
                c.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                c.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
            if t.insecure {
                c.certificateVerification = .none
            } else if t.serverName != nil {
                c.certificateVerification = .noHostnameVerification
            }
            tls = c
        }
        return tls
    }

    /// Probes `host:port` once; never throws: every failure is a `ProbeResult`.
    public func probe(host: String, port: Int) async -> ProbeResult {
        let scheme = settings.tls == nil ? "http" : "https"
        let authority = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        var request = HTTPClientRequest(url: "\(scheme)://\(authority):\(port)\(settings.path)")
        // A new connection each time: a node that accepts no new connections must fail its probe.
        request.headers.add(name: "Connection", value: "close")
        request.headers.add(name: "User-Agent", value: "tessera-lb-probe")
        let deadline = NIODeadline.now() + .milliseconds(Int64(settings.timeoutMs))
        do {
            let response = try await client.execute(request, deadline: deadline)
            let body = try await response.body.collect(upTo: ProbeLimits.maxBodyBytes)
            let text = String(buffer: body)
            guard Int(response.status.code) == settings.expectStatus else { return .status(Int(response.status.code)) }
            guard settings.expectBody.isEmpty || text.contains(settings.expectBody) else { return .bodyMismatch(text) }
            return .healthy
        } catch {
            return Self.classify(error)
        }
    }

    /// Names a failure the way an operator reads it.
    static func classify(_ error: any Error) -> ProbeResult {
        if let e = error as? HTTPClientError {
            if e == .deadlineExceeded || e == .connectTimeout || e == .readTimeout || e == .getConnectionFromPoolTimeout {
                return .timeout
            }
            if e == .remoteConnectionClosed { return .reset }
        }
        if error is NIOSSLError || error is BoringSSLError { return .tlsError("\(error)") }
        if let e = error as? HTTPParserError { return classify(e) }
        if case ByteToMessageDecoderError.dataReceivedInErrorState(let inner, _) = error { return classify(inner) }
        // What the request sees when the connection closed before it was written: bytes that came first fail the
        // HTTP parser on the idle connection, and the client closes it (the parser error goes elsewhere).
        if let e = error as? ChannelError, e == .ioOnClosedChannel { return .closedBeforeRequest }
        if let e = error as? IOError {
            if e.errnoCode == ECONNREFUSED { return .refused }
            if e.errnoCode == ECONNRESET || e.errnoCode == EPIPE { return .reset }
        }
        let text = "\(error)"
        let lower = text.lowercased()
        if lower.contains("refused") { return .refused }
        if lower.contains("reset") { return .reset }
        if lower.contains("timeout") || lower.contains("timed out") || lower.contains("deadline") { return .timeout }
        if lower.contains("ssl") || lower.contains("tls") || lower.contains("handshake") || lower.contains("certificate") {
            return .tlsError(text)
        }
        return .other(text)
    }

    /// The HTTP parser's errors, which name parser states ("invalid constant string"), said in an operator's
    /// words: a reply that does not even start with an HTTP status line means the probe reached something
    /// other than an HTTP server.
    static func classify(_ error: HTTPParserError) -> ProbeResult {
        switch error {
        case .invalidConstant, .invalidVersion, .invalidStatus: .notHTTP
        default: .other("malformed HTTP response: \(error)")
        }
    }

    /// Closes the HTTP client.
    public func shutdown() async {
        try? await client.shutdown()
    }
}
