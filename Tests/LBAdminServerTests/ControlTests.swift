import LBBalancing
import Synchronization
import Testing

@testable import LBAdminServer

@Suite("node control over the admin routes")
struct ControlTests {
    @Test("drain, disable and enable set the operator state and wake the workers")
    func actions() {
        let fixture = ViewFixture()
        let routes = fixture.routes()
        let n1 = fixture.nodes[0]
        #expect(routes.respond(to: request("POST", "/nodes/n1/drain")).status == 200)
        #expect(n1.adminState == .draining)
        let disabled = routes.respond(to: request("POST", "/nodes/n1/disable"))
        #expect(disabled.status == 200)
        #expect(disabled.text.contains("\"previous\":\"draining\""), "\(disabled.text)")
        #expect(n1.adminState == .disabled)
        #expect(routes.respond(to: request("POST", "/nodes/n1/enable")).status == 200)
        #expect(n1.adminState == .enabled)
        #expect(fixture.changes.value.load(ordering: .relaxed) == 3, "nodesChanged after every action")
    }

    @Test("an unknown node or action is 404 and names what exists")
    func unknown() {
        let routes = ViewFixture().routes()
        let node = routes.respond(to: request("POST", "/nodes/n9/drain"))
        #expect(node.status == 404)
        #expect(node.text.contains("n1, n2"))
        #expect(routes.respond(to: request("POST", "/nodes/n1/explode")).status == 404)
    }

    @Test("control takes POST only, and the pages GET only")
    func methods() {
        let routes = ViewFixture().routes()
        let get = routes.respond(to: request("GET", "/nodes/n1/drain"))
        #expect(get.status == 405)
        #expect(get.headers.contains { $0 == ("Allow", "POST") })
        #expect(routes.respond(to: request("POST", "/status")).status == 405)
        #expect(routes.respond(to: request("GET", "/nope")).status == 404)
    }

    @Test("with a token, control without it or with another one is refused; reading is not")
    func token() {
        let fixture = ViewFixture()
        let routes = fixture.routes(token: "s3cret")
        let missing = routes.respond(to: request("POST", "/nodes/n1/disable"))
        #expect(missing.status == 401)
        #expect(missing.headers.contains { $0.0 == "WWW-Authenticate" })
        #expect(routes.respond(to: request("POST", "/nodes/n1/disable", headers: [("Authorization", "Bearer s3cre")])).status == 401)
        #expect(routes.respond(to: request("POST", "/nodes/n1/disable", headers: [("authorization", "Basic s3cret")])).status == 401)
        #expect(fixture.nodes[0].adminState == .enabled, "nothing changed")
        #expect(routes.respond(to: request("POST", "/nodes/n1/disable", headers: [("Authorization", "Bearer s3cret")])).status == 200)
        #expect(fixture.nodes[0].adminState == .disabled)
        #expect(routes.respond(to: request("GET", "/status")).status == 200)
        #expect(routes.respond(to: request("GET", "/metrics")).status == 200)
    }

    @Test("without a token, a browser cannot be made to post: foreign Origin or a DNS name as Host is refused")
    func browserGuard() {
        let fixture = ViewFixture()
        let routes = fixture.routes()
        let crossSite = request("POST", "/nodes/n1/disable", headers: [("Origin", "https://evil.example")])
        #expect(routes.respond(to: crossSite).status == 403)
        let rebound = AdminRequest(method: "POST", uri: "/nodes/n1/disable", headers: [("Host", "evil.example:9990")])
        #expect(routes.respond(to: rebound).status == 403)
        #expect(fixture.nodes[0].adminState == .enabled)
        let sameOrigin = request("POST", "/nodes/n1/drain", headers: [("Origin", "http://127.0.0.1:9990")])
        #expect(routes.respond(to: sameOrigin).status == 200)
        let localhost = AdminRequest(method: "POST", uri: "/nodes/n1/enable", headers: [("Host", "localhost:9990")])
        #expect(routes.respond(to: localhost).status == 200)
        let v6 = AdminRequest(method: "POST", uri: "/nodes/n1/enable", headers: [("Host", "[::1]:9990")])
        #expect(routes.respond(to: v6).status == 200)
    }

    @Test("an operator's action is a transition on the status page at once")
    func transitionRecorded() throws {
        let fixture = ViewFixture()
        let routes = fixture.routes()
        _ = routes.respond(to: request("GET", "/status"))
        _ = routes.respond(to: request("POST", "/nodes/n2/drain"))
        let status = routes.respond(to: request("GET", "/status")).text
        #expect(status.contains("\"from\" : \"up\""), "\(status)")
        #expect(status.contains("\"to\" : \"draining\""))
        #expect(status.contains("draining by operator"))
    }
}
