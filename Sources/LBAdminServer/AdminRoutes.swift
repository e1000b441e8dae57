import Foundation
import LBBalancing
import LBConfig
import LBSystem
public import Logging

/// One HTTP request as the routes need it.
struct AdminRequest: Sendable {
    var method: String
    /// The path with its query, as sent.
    var uri: String
    var headers: [(String, String)] = []
    /// The peer, for the log line of a control action.
    var peer: String = "?"

    func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    /// The path without query or fragment.
    var path: String { String(uri.prefix { $0 != "?" && $0 != "#" }) }
}

/// One HTTP response.
struct AdminResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    init(status: Int, contentType: String, body: String, headers: [(String, String)] = []) {
        self.status = status
        self.headers = [("Content-Type", contentType), ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")] + headers
        self.body = Array(body.utf8)
    }

    static func json(_ status: Int, _ fields: [String: String], headers: [(String, String)] = []) -> AdminResponse {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return AdminResponse(
            status: status, contentType: "application/json", body: String(decoding: data, as: UTF8.self) + "\n", headers: headers
        )
    }

    /// A JSON object of any JSON values (strings, booleans, lists), keys sorted.
    static func object(_ status: Int, _ fields: [String: any Sendable]) -> AdminResponse {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return AdminResponse(status: status, contentType: "application/json", body: String(decoding: data, as: UTF8.self) + "\n")
    }

    static func error(_ status: Int, _ message: String, headers: [(String, String)] = []) -> AdminResponse {
        json(status, ["error": message], headers: headers)
    }
}

/// What the admin listener answers: the pages, the metrics and the control endpoints, as a function from
/// request to response (the NIO handler only carries bytes), so it is tested without sockets.
///
/// Control (`POST /nodes/{name}/drain|disable|enable`) is guarded in two ways. With a token, it needs
/// `Authorization: Bearer TOKEN`. Without one (only allowed on loopback), a browser must not be the way in:
/// a request with a foreign `Origin` (a web page posting across sites) or a `Host` that is a name other than
/// localhost (DNS rebinding) is refused.
public final class AdminRoutes: Sendable {
    let history: StateHistory
    private let token: String?
    private let logger: Logger
    private let reload: (@Sendable (_ from: String) -> ReloadOutcome)?

    /// Whether control requests need the bearer token.
    var tokenRequired: Bool { token != nil }

    /// The balancer as it is now: the view given last (at start, then by `update(view:)` after each reload).
    var view: BalancerView { history.view }

    /// - Parameter reload: what `POST /reload` does (re-read the configuration and apply it), given who asked;
    ///   nil answers 404 (a balancer built in a test, with no configuration sources to re-read).
    public init(
        view: BalancerView, history: StateHistory, token: String?, logger: Logger,
        reload: (@Sendable (_ from: String) -> ReloadOutcome)? = nil
    ) {
        self.history = history
        self.token = token
        self.logger = logger
        self.reload = reload
        history.update(view: view)
    }

    /// Takes the balancer as a reload left it (its nodes, services, probes).
    public func update(view: BalancerView) {
        history.update(view: view)
    }

    /// Whether answering `request` may take long (a reload resolves names and starts threads), so the server
    /// answers it off its event loop.
    func isSlow(_ request: AdminRequest) -> Bool {
        request.path == "/reload" && request.method == "POST"
    }

    func respond(to request: AdminRequest) -> AdminResponse {
        let view = self.view
        let path = request.path
        if path == "/reload" {
            guard request.method == "POST" else { return .error(405, "use POST", headers: [("Allow", "POST")]) }
            return reloadRoute(request)
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if parts.count == 3, parts.first == "nodes" {
            guard request.method == "POST" else {
                return .error(405, "use POST", headers: [("Allow", "POST")])
            }
            return control(node: String(parts[parts.startIndex + 1]), action: String(parts[parts.startIndex + 2]), request: request)
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            return .error(405, "use GET", headers: [("Allow", "GET, HEAD")])
        }
        switch path {
        case "/":
            return AdminResponse(
                status: 200, contentType: "text/html; charset=utf-8",
                body: StatusPage.render(StatusReport.read(view, history: history)),
                headers: [("Content-Security-Policy", StatusPage.contentSecurityPolicy)]
            )
        case StatusPage.scriptPath:
            return AdminResponse(status: 200, contentType: "text/javascript; charset=utf-8", body: StatusPage.script)
        case "/status":
            let report = StatusReport.read(view, history: history)
            let data = (try? StatusReport.encoder().encode(report)) ?? Data()
            return AdminResponse(status: 200, contentType: "application/json", body: String(decoding: data, as: UTF8.self) + "\n")
        case "/healthz":
            // Liveness: the process answers. Still 200 while draining, so an orchestrator does not kill a pod
            // that is finishing its connections.
            let state = !view.isAccepting() ? "ok, draining\n" : view.isStopping() ? "ok, stopping\n" : "ok\n"
            return AdminResponse(status: 200, contentType: "text/plain", body: state)
        case "/readyz":
            // Readiness: accepting, not stopping, and at least one node takes new connections.
            guard view.isAccepting() else { return .error(503, "draining: no longer accepting connections") }
            guard !view.isStopping() else {
                return .error(503, "stopping: still accepting during the accept grace, then draining")
            }
            let now = MonotonicClock.nowMilliseconds()
            let available = view.nodes.filter { $0.state.isAvailable(now: now) }.map(\.state.name)
            return available.isEmpty
                ? .error(503, "no node is up")
                : AdminResponse(status: 200, contentType: "text/plain", body: "ready: \(available.joined(separator: ", ")) up\n")
        case "/metrics":
            return AdminResponse(status: 200, contentType: PrometheusText.contentType, body: MetricsPage.render(view, history: history))
        default:
            return .error(
                404, "no such page; try /, /status, /metrics, /healthz, /readyz, POST /nodes/NAME/drain|disable|enable or POST /reload"
            )
        }
    }

    // MARK: - Control

    /// `POST /reload`: 200 with what changed, or 422 with the one-line reason the configuration was rejected
    /// (the running one stays).
    private func reloadRoute(_ request: AdminRequest) -> AdminResponse {
        if let refusal = refusal(of: request) { return refusal }
        guard let reload else { return .error(404, "this balancer has no configuration to reload") }
        let outcome = reload(request.peer)
        if let error = outcome.error {
            return .object(422, ["reloaded": false, "error": error])
        }
        return .object(200, ["reloaded": true, "changes": outcome.changes])
    }

    private func control(node name: String, action: String, request: AdminRequest) -> AdminResponse {
        if let refusal = refusal(of: request) { return refusal }
        let view = self.view
        let wanted: AdminState
        switch action {
        case "drain": wanted = .draining
        case "disable": wanted = .disabled
        case "enable": wanted = .enabled
        default: return .error(404, "no action \"\(action)\"; use drain, disable or enable")
        }
        let decoded = name.removingPercentEncoding ?? name
        guard let index = view.nodeIndex(named: decoded) else {
            let known = view.nodes.map(\.state.name).joined(separator: ", ")
            return .error(404, "no node named \"\(decoded)\"; nodes: \(known)")
        }
        let node = view.nodes[index].state
        let previous = node.adminState
        node.setAdminState(wanted)
        view.nodesChanged()
        let seen = history.observe(view: view)
        if previous != wanted {
            logger.notice(
                "node \(wanted.name) by operator",
                metadata: ["node": "\(node.name)", "previous": "\(previous.name)", "from": "\(request.peer)"]
            )
        }
        return .json(
            200,
            [
                "node": node.name, "admin": wanted.name, "previous": previous.name,
                "state": seen.nodes[index].condition.state.rawValue,
            ]
        )
    }

    /// Why a control request may not proceed, as the response; nil when it may.
    private func refusal(of request: AdminRequest) -> AdminResponse? {
        if let token {
            let given = request.header("Authorization") ?? ""
            let expected = "Bearer \(token)"
            guard Self.constantTimeEqual(given, expected) else {
                return .error(
                    401, given.isEmpty ? "this endpoint needs Authorization: Bearer TOKEN (--admin-token)" : "wrong token",
                    headers: [("WWW-Authenticate", "Bearer realm=\"tessera-lb\"")]
                )
            }
            return nil
        }
        let host = request.header("Host") ?? ""
        if let origin = request.header("Origin"), origin != "http://\(host)" {
            return .error(403, "cross-origin control request refused (Origin \(origin))")
        }
        if !Self.isAddressOrLocalhost(host) {
            return .error(403, "control needs the admin address (an IP or localhost) as Host, not \(host)")
        }
        return nil
    }

    /// Whether the Host header names an IP literal or localhost (with or without a port): never a DNS name
    /// that could be rebound to this address.
    static func isAddressOrLocalhost(_ host: String) -> Bool {
        var name = Substring(host)
        if name.hasPrefix("["), let close = name.firstIndex(of: "]") {
            name = name[name.index(after: name.startIndex)..<close]
        } else if let colon = name.lastIndex(of: ":"), name.firstIndex(of: ":") == colon {
            name = name[..<colon]
        }
        return name == "localhost" || IPAddressLiteral.isIP(String(name))
    }

    /// Compares without stopping at the first difference, so the time taken does not tell how much of a
    /// guessed token was right.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }
}
