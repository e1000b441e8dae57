internal import LBConfig

/// What tessera-lb needs from one Tessera node's config file: its balanced servers.
struct TesseraNodeConfig: Sendable {
    /// The file, as given.
    let file: String
    /// The P2P server: exactly one per node.
    let p2p: TesseraServer
    let thirdParty: TesseraServer?
    /// The Q2T server reachable over TCP, if any.
    let q2t: TesseraServer?
    /// Q2T servers on a unix socket: reachable only on the node's own host.
    let unixQ2T: [TesseraServer]
    /// `useWhiteList`: the P2P server admits only the hosts of the `peer` URLs (tessera-facts §5.4).
    let useWhiteList: Bool
    /// The hosts of the `peer` URLs, in order, without repeats.
    let peerHosts: [String]

    /// The balanced servers, P2P first, each with the kind the agreement checks compare and name: the app, or
    /// "Q2T on a unix socket", which is a different thing to balance than a TCP Q2T.
    var servers: [(kind: String, server: TesseraServer)] {
        [("P2P", p2p)] + (thirdParty.map { [("ThirdParty", $0)] } ?? []) + (q2t.map { [("Q2T", $0)] } ?? [])
            + unixQ2T.map { ("Q2T on a unix socket", $0) }
    }

    /// Reads the file at `path`; `setting` (`--tessera-config`) names the file in errors about it as a whole.
    init(path: String, setting: String, environment: [String: String]) throws(ConfigError) {
        file = path
        let fileGiven = GivenValue(setting: setting, text: path, file: nil)
        let root = ConfigFileValue(value: try JSONFile.readObject(path, given: fileGiven), path: "", file: path)
        guard let list = root.field("serverConfigs") else {
            if root.field("server") != nil || root.field("unixSocketFile") != nil {
                throw fileGiven.error(
                    "no \"serverConfigs\"; this is the form of Tessera 0.7 and older (a top-level \"server\"), which "
                        + "tessera-lb does not read; write serverConfigs as Tessera 0.9 and later do"
                )
            }
            throw fileGiven.error(
                "no \"serverConfigs\"; a Tessera node config lists its P2P, ThirdParty and Q2T servers there"
            )
        }
        var found: [TesseraApp: [TesseraServer]] = [:]
        var unix: [TesseraServer] = []
        for element in try list.elements() {
            guard case .object = element.value else {
                throw element.given.error("expected an object, got \(element.value.kind)")
            }
            guard let appField = element.field("app") else { throw element.missing("app") }
            let appText = try appField.text(environment)
            guard let app = TesseraApp(rawValue: appText) else {
                throw appField.given.error("must be P2P, ThirdParty, Q2T, ENCLAVE or ADMIN (spelt exactly so)")
            }
            // An enclave or admin server is the node's own business.
            guard TesseraApp.balanced.contains(app) else { continue }
            let server = try TesseraServer(app: app, appField: appField.given, value: element, environment: environment)
            if server.serverAddress.scheme == .unix {
                guard app == .q2t else {
                    throw server.serverAddressField.error("only a Q2T server may listen on a unix socket")
                }
                unix.append(server)
            } else {
                found[app, default: []].append(server)
            }
        }
        let p2ps = found[.p2p] ?? []
        guard let p2p = p2ps.first else {
            throw list.given.error("no P2P server; a Tessera node has exactly one, and tessera-lb needs it")
        }
        self.p2p = p2p
        thirdParty = (found[.thirdParty] ?? []).first
        q2t = (found[.q2t] ?? []).first
        unixQ2T = unix
        for app in TesseraApp.balanced {
            guard let servers = found[app], servers.count > 1 else { continue }
            throw servers[1].entry.error(
                "a second \(app.rawValue) server (the first is \(servers[0].entry.setting)); "
                    + (app == .p2p ? "a Tessera node has exactly one" : "tessera-lb balances one per node")
            )
        }
        useWhiteList = try root.field("useWhiteList")?.flag(environment) ?? false
        var hosts: [String] = []
        if let peers = root.field("peer") {
            for peer in try peers.elements() {
                guard let urlField = peer.field("url") else { continue }
                let text = try urlField.text(environment)
                let address = try urlField.given.check { () throws(ConfigProblem) in try TesseraAddress.parse(text) }
                if !address.host.isEmpty && !hosts.contains(address.host) { hosts.append(address.host) }
            }
        }
        peerHosts = hosts
        let bootstrap = try root.field("bootstrapNode")?.flag(environment) ?? false
        if q2t == nil, unix.isEmpty, !bootstrap {
            throw list.given.error("no Q2T server; Tessera requires one unless bootstrapNode is true")
        }
    }
}
