import LBConfig
import Testing

@Suite("A Tessera Q2T on a unix socket")
struct UnixQ2TTests {
    let directory: TesseraDirectory
    let file: String

    init() throws {
        directory = try TesseraDirectory()
        file = try directory.write("node.json", TesseraConfigText.node(servers: [
            TesseraConfigText.server("ThirdParty", serverAddress: "http://lb:9080", bindingAddress: "http://10.0.0.11:9080"),
            TesseraConfigText.server("Q2T", serverAddress: "unix:/qdata/tm/tm.ipc"),
            TesseraConfigText.server("P2P", serverAddress: "http://lb:9000", bindingAddress: "http://10.0.0.11:9000"),
        ]))
    }

    @Test("is reported as not balanceable over TCP")
    func reported() {
        #expect(rejection(ConfigOverrides(tesseraConfigs: [file])) ==
            #"invalid serverConfigs[1].serverAddress "unix:/qdata/tm/tm.ipc" in \#(file): a unix socket is reachable "#
                + "only on the node's own host, so the balancer cannot forward Q2T to it over TCP; give Q2T an http "
                + "address, or give the services with --service (for GoQuorum over IPC: --service "
                + "q2t=unix:PATH:NODEPORT, see docs/tessera.md)")
    }

    @Test("is no obstacle when --service gives the services")
    func servicesGiven() throws {
        let config = try load(ConfigOverrides(services: ["p2p=9000", "thirdparty=9080"], tesseraConfigs: [file]))
        #expect(config.services.map(\.name) == ["p2p", "thirdparty"])
        #expect(config.nodes.map(\.host) == ["10.0.0.11"])
    }

    @Test("a TCP Q2T beside it is balanced, the socket one left to local clients")
    func besideTCP() throws {
        let both = try directory.write("both.json", TesseraConfigText.node(servers: [
            TesseraConfigText.server("Q2T", serverAddress: "unix:/qdata/tm/tm.ipc"),
            TesseraConfigText.server("Q2T", serverAddress: "http://lb:9101", bindingAddress: "http://10.0.0.11:9101"),
            TesseraConfigText.server("P2P", serverAddress: "http://lb:9000", bindingAddress: "http://10.0.0.11:9000"),
        ]))
        #expect(try load(ConfigOverrides(tesseraConfigs: [both])).services.map(\.name) == ["p2p", "q2t"])
    }
}
