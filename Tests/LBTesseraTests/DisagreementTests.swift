import LBConfig
import Testing

@Suite("Nodes that disagree")
struct DisagreementTests {
    typealias Text = TesseraConfigText

    let directory: TesseraDirectory
    let first: String

    init() throws {
        directory = try TesseraDirectory()
        first = try directory.write("tessera-1.json", Text.node(servers: Text.haServers(node: "10.0.0.11")))
    }

    func rejectionOfSecond(_ servers: [String]) throws -> (file: String, line: String?) {
        let second = try directory.write("tessera-2.json", Text.node(servers: servers))
        return (second, rejection(ConfigOverrides(tesseraConfigs: [first, second])))
    }

    @Test("a different advertised address names both files")
    func serverAddress() throws {
        let (second, line) = try rejectionOfSecond(Text.haServers(node: "10.0.0.12", lb: "lb2.example.com"))
        #expect(line == #"invalid serverConfigs[2].serverAddress "http://lb2.example.com:9000" in \#(second): differs "#
            + #"from "http://lb.example.com:9000" in \#(first); every node of an HA group advertises the same address, "#
            + "the balancer's")
    }

    @Test("a node advertising itself (no bindingAddress) is told how the HA guide sets it up")
    func selfAdvertising() throws {
        let (second, line) = try rejectionOfSecond([
            Text.server("ThirdParty", serverAddress: "http://10.0.0.12:9080"),
            Text.server("Q2T", serverAddress: "http://10.0.0.12:9101"),
            Text.server("P2P", serverAddress: "http://10.0.0.12:9000"),
        ])
        #expect(line == #"invalid serverConfigs[2].serverAddress "http://10.0.0.12:9000" in \#(second): differs "#
            + #"from "http://lb.example.com:9000" in \#(first); every node of an HA group advertises the same address, "#
            + "the balancer's; without a bindingAddress, serverAddress is the node's own address: set serverAddress "
            + "to the balancer's address and bindingAddress to the node's (Tessera's HA guide)")
    }

    @Test("a different bound port names the port of each")
    func port() throws {
        var servers = Text.haServers(node: "10.0.0.12")
        servers[1] = Text.server("Q2T", serverAddress: "http://lb.example.com:9101", bindingAddress: "http://10.0.0.12:9201")
        let (second, line) = try rejectionOfSecond(servers)
        #expect(line == #"invalid serverConfigs[1].bindingAddress "http://10.0.0.12:9201" in \#(second): port 9201 "#
            + "differs from 9102 in \(first); the balancer forwards a service to the same port on every node")
    }

    @Test("a server the first node has and this one lacks")
    func missingApp() throws {
        let (second, line) = try rejectionOfSecond(Array(Text.haServers(node: "10.0.0.12").dropFirst()))
        #expect(line == "invalid serverConfigs in \(second): no ThirdParty server, but \(first) has one "
            + "(serverConfigs[0]); the nodes of an HA group serve the same apps")
    }

    @Test("a server this node has and the first lacks")
    func extraApp() throws {
        let third = try directory.write("tessera-3.json", Text.node(servers: Array(Text.haServers(node: "10.0.0.13").dropFirst())))
        #expect(rejection(ConfigOverrides(tesseraConfigs: [third, first])) ==
            "invalid serverConfigs[0] in \(first): a ThirdParty server, but \(third) has none; the nodes of an HA group "
                + "serve the same apps")
    }

    @Test("the same node twice is caught by its name")
    func sameNode() throws {
        let (second, line) = try rejectionOfSecond(Text.haServers(node: "10.0.0.11"))
        #expect(line == #"invalid serverConfigs[2].bindingAddress "http://10.0.0.11:9001" in \#(second): node name "#
            + #""10.0.0.11" is already used by serverConfigs[2].bindingAddress in \#(first)"#)
    }
}
