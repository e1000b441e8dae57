import Foundation
import LBStandIn
import LBTestSupport
import Testing

/// The stand-in as a node of a Tessera HA group (TesseraModel): what the group checks and partyinfo mirroring
/// are tested against must itself behave as ../shared/tessera-facts.md §4 and §10 say Tessera does.
@Suite("the stand-in as a Tessera group member: per-process partyinfo, keys, version")
struct StandInTesseraTests {
    static let remoteKey = "ROAZBWtSacxXQrOe3FGAqJDyJjFePR5ce4TSIzmJ0Bc="
    static let speaks: [StandInProtocol] = [.http(service: "p2p"), .http(service: "thirdparty"), .http(service: "q2t")]

    static func partyinfo(from url: String = "http://10.9.9.9:9000", keys: [String] = [remoteKey]) -> [UInt8] {
        PartyInfoCodec.encode(.init(url: url, recipients: keys.map { ($0, url) }, parties: [url]))
    }

    static func send(to keys: [String]) -> [UInt8] {
        let quoted = keys.map { "\"\($0)\"" }.joined(separator: ",")
        return Array(#"{"payload":"aGVsbG8=","from":"\#(TesseraModel.defaultKeys[0])","to":[\#(quoted)]}"#.utf8)
    }

    @Test("partyinfo codec: Tessera's binary layout round-trips, and truncated or lying input is refused")
    func codec() {
        let info = PartyInfoCodec.PartyInfo(url: "http://a:9000", recipients: [(Self.remoteKey, "http://a:9000")], parties: ["http://b:9000"])
        let bytes = PartyInfoCodec.encode(info)
        #expect(PartyInfoCodec.decode(bytes) == info)
        // 8-byte big-endian length, then the URL.
        #expect(Array(bytes.prefix(8)) == [0, 0, 0, 0, 0, 0, 0, 13])
        for cut in [0, 7, 8, 20, bytes.count - 1] { #expect(PartyInfoCodec.decode(Array(bytes.prefix(cut))) == nil, "cut at \(cut)") }
        var lying = bytes
        lying[7] = 200
        #expect(PartyInfoCodec.decode(lying) == nil)
    }

    @Test("a remote key is known only to the node that was sent its partyinfo: /send to it is 404 on the other")
    func partyinfoIsPerProcess() throws {
        let group = try StandInGroup(count: 2, speaks: Self.speaks)
        defer { group.stop() }
        let (p2p, thirdparty, q2t) = (group.ports[0], group.ports[1], group.ports[2])
        let first = try TestSocket(host: group.hosts[0], port: p2p)
        #expect(try HTTPExchange.post("/partyinfo", body: Self.partyinfo(), contentType: "application/octet-stream", on: first).status == 200)

        for (index, host) in group.hosts.enumerated() {
            let knows = index == 0
            let view = try HTTPExchange.get("/partyinfo", on: TestSocket(host: host, port: p2p))
            #expect(view.status == 200)
            #expect(view.body.contains(Self.remoteKey) == knows, "\(host): \(view.body)")
            #expect(view.body.contains(TesseraModel.defaultKeys[0]), "its own key")
            let sent = try HTTPExchange.post("/send", body: Self.send(to: [Self.remoteKey]), on: TestSocket(host: host, port: q2t))
            #expect(sent.status == (knows ? 201 : 404), "\(host): \(sent.status) \(sent.body)")
            if !knows { #expect(sent.body.contains("Recipient not found")) }
            let own = try HTTPExchange.post("/send", body: Self.send(to: TesseraModel.defaultKeys), on: TestSocket(host: host, port: q2t))
            #expect(own.status == 201, "a group key is always known")
            let keys = try HTTPExchange.get("/keys", on: TestSocket(host: host, port: thirdparty))
            #expect(keys.body == #"{"keys":[{"key":"\#(TesseraModel.defaultKeys[0])"}]}"#)
            let version = try HTTPExchange.get("/version/distribution", on: TestSocket(host: host, port: p2p))
            #expect(version.body == TesseraModel.defaultVersion)
        }
        // GET /send (what the other tests and bench/ use) is the fast path as before.
        #expect(try HTTPExchange.get("/send", on: TestSocket(host: group.hosts[1], port: q2t)).node == "n2")
    }

    @Test("the control port changes a node's keys and version")
    func controlLines() throws {
        let node = try StandInNode(
            name: "n1", ports: [.init(0, .http(service: "thirdparty")), .init(0, .http(service: "p2p"))], controlPort: 0
        )
        defer { node.stop() }
        for line in ["keys AAAA,BBBB", "version 23.4.0"] {
            let control = try TestSocket(host: "127.0.0.1", port: try #require(node.controlPort))
            try control.send(line + "\n")
            #expect(String(decoding: try control.receive(), as: UTF8.self) == "ok\n")
        }
        let keys = try HTTPExchange.get("/keys", on: TestSocket(host: "127.0.0.1", port: node.boundPorts[0]))
        #expect(keys.body == #"{"keys":[{"key":"AAAA"},{"key":"BBBB"}]}"#)
        #expect(try HTTPExchange.get("/version", on: TestSocket(host: "127.0.0.1", port: node.boundPorts[1])).body == "23.4.0")
        #expect(node.tessera.url == "http://127.0.0.1:\(node.boundPorts[1])", "advertises its P2P server")
    }
}
