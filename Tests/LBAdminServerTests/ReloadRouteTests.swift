import Foundation
import LBBalancing
import Logging
import Synchronization
import Testing

@testable import LBAdminServer

/// `POST /reload` and what the admin listener shows across a reload.
@Suite("reload over the admin routes")
struct ReloadRouteTests {
    private func routes(_ fixture: ViewFixture, token: String?, reload: @escaping @Sendable (String) -> ReloadOutcome) -> AdminRoutes {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return AdminRoutes(view: fixture.view, history: StateHistory(view: fixture.view), token: token, logger: logger, reload: reload)
    }

    @Test("POST /reload answers what changed, or 422 with the reason; it needs the token like the other control endpoints")
    func answers() throws {
        let fixture = ViewFixture()
        let calls = Counter()
        let next = Mutex<ReloadOutcome>(.applied(["nodes added: n3=127.0.0.4", "health.rise 2 -> 3"]))
        let routes = routes(fixture, token: "t") { _ in
            calls.value.add(1, ordering: .relaxed)
            return next.withLock { $0 }
        }
        #expect(routes.respond(to: request("POST", "/reload")).status == 401)
        #expect(routes.respond(to: request("POST", "/reload", headers: [("Authorization", "Bearer x")])).status == 401)
        #expect(routes.respond(to: request("GET", "/reload", headers: [("Authorization", "Bearer t")])).status == 405)
        #expect(calls.value.load(ordering: .relaxed) == 0, "refused requests reload nothing")

        let applied = routes.respond(to: request("POST", "/reload", headers: [("Authorization", "Bearer t")]))
        #expect(applied.status == 200)
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(applied.body)) as? [String: Any])
        #expect(fields["reloaded"] as? Bool == true)
        #expect(fields["changes"] as? [String] == ["nodes added: n3=127.0.0.4", "health.rise 2 -> 3"])

        next.withLock { $0 = .rejected("invalid maxConns \"0\" in lb.json: must be between 1 and 1000000") }
        let rejected = routes.respond(to: request("POST", "/reload", headers: [("Authorization", "Bearer t")]))
        #expect(rejected.status == 422)
        let reason = try #require(try JSONSerialization.jsonObject(with: Data(rejected.body)) as? [String: Any])
        #expect(reason["reloaded"] as? Bool == false)
        #expect(reason["error"] as? String == "invalid maxConns \"0\" in lb.json: must be between 1 and 1000000")
        #expect(calls.value.load(ordering: .relaxed) == 2)
        #expect(routes.isSlow(request("POST", "/reload")), "answered off the event loop")
    }

    @Test("without a reload function, POST /reload is 404")
    func notAvailable() {
        let routes = ViewFixture().routes()
        #expect(routes.respond(to: request("POST", "/reload")).status == 404)
    }

    @Test("after a reload, nodes that stay keep their state, since when and change count; removed ones go, new ones start without a transition")
    func historyAcrossReload() {
        let before = ViewFixture(nodes: ["n1", "n2"])
        let history = StateHistory(view: before.view)
        history.observe()
        before.nodes[1].setMarkedUp(false)
        let down = history.observe()
        #expect(down.changes == [0, 1])
        let downSince = down.nodes[1].since

        // n1 removed, n3 added; n2 is the same object, as the balancer keeps it.
        let n3 = NodeState(name: "n3")
        var view = before.view
        view.nodes = [view.nodes[1], BalancerView.Node(state: n3, host: "127.0.0.4")]
        history.update(view: view)
        let after = history.observe(view: view)
        #expect(after.nodes.map(\.condition.state) == [.down, .up])
        #expect(after.nodes[0].since == downSince, "n2 keeps since when it is down")
        #expect(after.changes == [1, 0])
        #expect(after.transitions.map(\.node) == ["n2"], "no transition for the added node: \(after.transitions)")
        #expect(after.services.count == 2 && after.services.allSatisfy { $0.count == 2 })

        before.nodes[1].setMarkedUp(true)
        let back = history.observe(view: view)
        #expect(back.changes == [2, 0])
        #expect(back.transitions.first.map { "\($0.node) \($0.from.rawValue)>\($0.to.rawValue)" } == "n2 down>up")
        #expect(history.view.nodes.map(\.state.name) == ["n2", "n3"], "the routes read the new view")
    }
}
