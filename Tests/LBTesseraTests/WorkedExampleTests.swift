import LBConfig
import Testing

/// The worked example of docs/tessera.md, kept here so the page stays true.
@Suite("The worked example of docs/tessera.md")
struct WorkedExampleTests {
    /// tessera-1.json of the example; tessera-2.json differs only in the node's own address.
    static func nodeConfig(_ nodeIP: String) -> String {
        """
        {
          "mode": "tessera",
          "useWhiteList": false,
          "jdbc": {
            "username": "tessera",
            "password": "${DB_PASSWORD}",
            "url": "jdbc:postgresql://db.example.com:5432/tessera",
            "autoCreateTables": false
          },
          "serverConfigs": [
            {
              "app": "ThirdParty",
              "enabled": true,
              "communicationType": "REST",
              "serverAddress": "http://lb.example.com:9080",
              "bindingAddress": "http://\(nodeIP):9080"
            },
            {
              "app": "Q2T",
              "enabled": true,
              "communicationType": "REST",
              "serverAddress": "http://lb.example.com:9101",
              "bindingAddress": "http://\(nodeIP):9101",
              "sslConfig": { "tls": "OFF" }
            },
            {
              "app": "P2P",
              "enabled": true,
              "communicationType": "REST",
              "serverAddress": "http://lb.example.com:9000",
              "bindingAddress": "http://\(nodeIP):9000",
              "properties": { "partyInfoInterval": "5000" },
              "sslConfig": { "tls": "OFF" }
            }
          ],
          "peer": [ { "url": "http://tessera.other-org.example:9000" } ],
          "keys": {
            "passwords": [],
            "keyData": [ { "privateKeyPath": "/etc/tessera/keys/tm.key", "publicKeyPath": "/etc/tessera/keys/tm.pub" } ]
          },
          "alwaysSendTo": [],
          "bootstrapNode": false,
          "features": { "enableRemoteKeyValidation": false, "enablePrivacyEnhancements": false }
        }
        """
    }

    let directory: TesseraDirectory
    let files: [String]

    init() throws {
        directory = try TesseraDirectory()
        files = [
            try directory.write("tessera-1.json", Self.nodeConfig("10.0.0.11")),
            try directory.write("tessera-2.json", Self.nodeConfig("10.0.0.12")),
        ]
    }

    @Test("the two files and --node names print the configuration the page shows")
    func printed() throws {
        let config = try load(ConfigOverrides(nodes: ["10.0.0.11:tessera-1", "10.0.0.12:tessera-2"], tesseraConfigs: files))
        #expect(ConfigWriter.json(config) == """
            {
              "nodes": [
                {"host": "10.0.0.11", "name": "tessera-1"},
                {"host": "10.0.0.12", "name": "tessera-2"}
              ],
              "services": [
                {"name": "p2p", "listenPort": 9000, "nodePort": 9000},
                {"name": "thirdparty", "listenPort": 9080, "nodePort": 9080},
                {"name": "q2t", "listenPort": 9101, "nodePort": 9101}
              ],
              "listen": "0.0.0.0",
              "balance": "roundrobin",
              "maxConns": 16384,
              "connectTimeoutMs": 2000,
              "idleTimeoutMs": 600000,
              "maxFails": 3,
              "failTimeoutMs": 5000,
              "forward": "auto",
              "engine": "auto",
              "pipeSize": 262144,
              "nodeUserTimeoutMs": 10000,
              "nodeKeepaliveSeconds": 30,
              "allDown": "refuse",
              "drainTimeoutMs": 30000,
              "acceptGraceMs": 0,
              "freebind": false,
              "groupCheckIntervalMs": 30000,
              "groupPolicy": "report",
              "mirrorPartyinfo": "on",
              "reloadHardStopAfterMs": 0,
              "health": {
                "enabled": true,
                "port": 9000,
                "path": "/upcheck",
                "expectStatus": 200,
                "expectBody": "I'm up!",
                "intervalMs": 1000,
                "fastIntervalMs": 300,
                "timeoutMs": 1000,
                "rise": 2,
                "fall": 2,
                "initialState": "up",
                "scope": "node",
                "onMarkedDown": "shutdown-sessions"
              }
            }
            """)
    }

    @Test("GoQuorum over IPC: the same files with a unix-socket q2t service")
    func ipc() throws {
        let config = try load(ConfigOverrides(
            nodes: ["10.0.0.11:tessera-1", "10.0.0.12:tessera-2"], services: ["q2t=unix:/qdata/tm/tm.ipc:9101"],
            tesseraConfigs: files
        ))
        #expect(config.services == [BalancerConfig.Service(name: "q2t", listenPort: 0, nodePort: 9101, listenPath: "/qdata/tm/tm.ipc")])
        #expect(config.nodes.map(\.name) == ["tessera-1", "tessera-2"])
    }
}
