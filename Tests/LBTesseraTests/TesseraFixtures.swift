import Foundation
import LBConfig
import LBTessera

/// A temporary directory for Tessera config files (and stand-in PEM files), removed when the value goes away.
final class TesseraDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-lb-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `contents` to `name` in the directory; returns its path.
    @discardableResult
    func write(_ name: String, _ contents: String) throws -> String {
        let file = "\(path)/\(name)"
        try contents.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

/// Tessera node configs in the shape Tessera documents (docs.tessera.consensys.io, quorum-dev-quickstart): the
/// parts tessera-lb reads (serverConfigs) among the parts it does not (jdbc, peer, keys...).
enum TesseraConfigText {
    /// One `serverConfigs` entry; `extra` is more fields, written as JSON members.
    static func server(
        _ app: String, serverAddress: String, bindingAddress: String? = nil, extra: String = ""
    ) -> String {
        var fields = [#""app": "\#(app)""#, #""enabled": true"#, #""communicationType": "REST""#,
                      #""serverAddress": "\#(serverAddress)""#]
        if let bindingAddress { fields.append(#""bindingAddress": "\#(bindingAddress)""#) }
        if !extra.isEmpty { fields.append(extra) }
        return "{ " + fields.joined(separator: ", ") + " }"
    }

    /// The three servers of an HA node: advertising the balancer (`lb`) on 9000/9080/9101, bound on the node's
    /// own address on 9001/9081/9102, so listen and node ports can be told apart.
    static func haServers(node: String, lb: String = "lb.example.com") -> [String] {
        [
            server("ThirdParty", serverAddress: "http://\(lb):9080", bindingAddress: "http://\(node):9081"),
            server("Q2T", serverAddress: "http://\(lb):9101", bindingAddress: "http://\(node):9102",
                   extra: #""sslConfig": { "tls": "OFF" }"#),
            server("P2P", serverAddress: "http://\(lb):9000", bindingAddress: "http://\(node):9001",
                   extra: #""properties": { "partyInfoInterval": "5000", "syncInterval": "60000" }, "sslConfig": { "tls": "OFF" }"#),
        ]
    }

    /// A whole node config around `servers`; `top` adds top-level members.
    static func node(servers: [String], top: String = "") -> String {
        """
        {
          "mode": "tessera",
          "useWhiteList": false,
          "disablePeerDiscovery": false,
          "jdbc": {
            "username": "tessera",
            "password": "${DB_PASSWORD}",
            "url": "jdbc:postgresql://db.example.com:5432/tessera",
            "autoCreateTables": "false",
            "fetchSize": 0
          },
          "serverConfigs": [
            \(servers.joined(separator: ",\n    "))
          ],
          "peer": [ { "url": "https://peer1.example.com:9000" }, { "url": "https://peer2.example.com:9000" } ],
          "keys": {
            "passwords": [],
            "keyData": [ { "privateKeyPath": "/config/keys/tm.key", "publicKeyPath": "/config/keys/tm.pub" } ]
          },
          "alwaysSendTo": [],
          "bootstrapNode": false,
          "features": { "enableRemoteKeyValidation": "false", "enablePrivacyEnhancements": true }\(top.isEmpty ? "" : ",\n  " + top)
        }
        """
    }
}

/// Loads as `tessera-lb run` does, with the Tessera importer and only the given environment.
func load(
    _ overrides: ConfigOverrides, file: String? = nil, environment: [String: String] = [:]
) throws(ConfigError) -> BalancerConfig {
    try ConfigLoader.load(file: file, overrides: overrides, environment: environment, importer: TesseraConfigImporter())
}

/// The one line the configuration is rejected with, or nil when it loads.
func rejection(_ overrides: ConfigOverrides, file: String? = nil, environment: [String: String] = [:]) -> String? {
    do {
        _ = try load(overrides, file: file, environment: environment)
        return nil
    } catch {
        return error.description
    }
}
