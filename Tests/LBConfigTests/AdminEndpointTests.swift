import Testing

import LBConfig

@Suite("admin addresses")
struct EndpointTests {
    @Test("ADDR:PORT, [IPV6]:PORT and localhost parse; loopback is told apart", arguments: [
        ("127.0.0.1:9990", "127.0.0.1", 9990, true),
        ("127.1.2.3:80", "127.1.2.3", 80, true),
        ("localhost:9990", "127.0.0.1", 9990, true),
        ("[::1]:9990", "::1", 9990, true),
        ("0.0.0.0:9990", "0.0.0.0", 9990, false),
        ("10.0.0.5:9990", "10.0.0.5", 9990, false),
        ("[::]:0", "::", 0, false),
    ])
    func valid(text: String, host: String, port: Int, loopback: Bool) throws {
        var problem = ""
        let endpoint = try #require(AdminEndpoint.parse(text, problem: &problem), "\(problem)")
        #expect(endpoint.host == host && endpoint.port == port)
        #expect(endpoint.isLoopback == loopback)
    }

    @Test("anything else is refused with a reason", arguments: ["9990", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000",
        "host.example:9990", "::1:9990", "[::1]9990", "127.0.0.1:-1", ""])
    func invalid(text: String) {
        var problem = ""
        #expect(AdminEndpoint.parse(text, problem: &problem) == nil)
        #expect(!problem.isEmpty)
    }

    @Test("the description is a URL authority")
    func description() {
        #expect(AdminEndpoint(host: "::1", port: 9990).description == "[::1]:9990")
        #expect(AdminEndpoint.standard.description == "127.0.0.1:9990")
    }
}
