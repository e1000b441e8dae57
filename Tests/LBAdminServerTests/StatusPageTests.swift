import Foundation
import LBBalancing
import Testing

@testable import LBAdminServer

@Suite("the status page and JSON")
struct StatusPageTests {
    @Test("text from outside is escaped: a node's name cannot inject markup")
    func escaped() {
        let fixture = ViewFixture(nodes: ["<script>alert(1)</script>", "n2"])
        let page = fixture.routes().respond(to: request("GET", "/"))
        #expect(page.status == 200)
        #expect(!page.text.contains("<script>alert"))
        #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(page.headers.contains { $0.0 == "Content-Security-Policy" && $0.1.contains("script-src 'self'") })
        #expect(!page.text.contains("<script>"), "no inline script at all")
    }

    @Test("the JSON decodes into the report ctl reads, with every node and service")
    func json() throws {
        let fixture = ViewFixture()
        fixture.nodes[0].setMarkedUp(false)
        fixture.nodes[1].setAdminState(.disabled)
        let body = fixture.routes().respond(to: request("GET", "/status")).text
        let report = try StatusReport.decoder().decode(StatusReport.self, from: Data(body.utf8))
        #expect(report.nodes.map(\.state) == [.down, .disabled])
        #expect(report.services.map(\.name) == ["p2p", "q2t"])
        #expect(report.services[0].available == 0)
        #expect(report.nodes[1].admin == "disabled")
    }

    @Test("a state change is recorded once, with from, to and reason; the count goes up")
    func history() {
        let fixture = ViewFixture()
        let history = StateHistory(view: fixture.view)
        history.observe()
        fixture.nodes[0].setMarkedUp(false)
        history.observe()
        history.observe()
        fixture.nodes[0].setMarkedUp(true)
        let seen = history.observe()
        #expect(seen.transitions.map { "\($0.node) \($0.from.rawValue)>\($0.to.rawValue)" } == ["n1 down>up", "n1 up>down"])
        #expect(seen.changes == [2, 0])
    }

    @Test("the periodic look records a change nobody asked about, and only looks closer when something changed")
    func tick() {
        let fixture = ViewFixture()
        let history = StateHistory(view: fixture.view)
        history.observe()
        history.tick()
        fixture.nodes[1].setAdminState(.disabled)
        history.tick()
        fixture.nodes[1].setAdminState(.enabled)
        history.tick()
        history.tick()
        let seen = history.observe()
        #expect(seen.transitions.map { "\($0.node) \($0.from.rawValue)>\($0.to.rawValue)" } == ["n2 disabled>up", "n2 up>disabled"])
    }

    @Test("a service's own probe takes a node out of that service only, and that is a transition of the service")
    func perService() {
        let fixture = ViewFixture()
        let history = StateHistory(view: fixture.view)
        history.observe()
        fixture.nodes[1].setServiceUp(1, false)
        let seen = history.observe()
        #expect(seen.nodes[1].condition.state == .up)
        #expect(seen.services[1][1].condition.state == .down)
        #expect(seen.services[0][1].condition.state == .up)
        #expect(seen.transitions.first?.service == "q2t")
    }

    @Test("sizes and durations read as a person writes them")
    func units() {
        #expect(StatusPage.bytes(512) == "512 B")
        #expect(StatusPage.bytes(1536) == "1.5 KiB")
        #expect(StatusPage.bytes(3 << 30) == "3.0 GiB")
        #expect(StatusPage.duration(59) == "59 s")
        #expect(StatusPage.duration(3725) == "1 h 2 min")
    }
}
