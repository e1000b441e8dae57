import LBConfig
import Testing

@Suite("Printing the effective configuration")
struct ConfigWriterTests {
    @Test("the printed defaults load back to the same configuration")
    func defaultsRoundTrip() throws {
        let config = try loadIsolated(file: nil, overrides: oneNode)
        let printed = try TemporaryConfigFile(ConfigWriter.json(config))
        #expect(try loadIsolated(file: printed.path, overrides: ConfigOverrides()) == config)
    }

    @Test("a configuration with every setting changed loads back equal")
    func everySettingRoundTrip() throws {
        let ca = try temporaryFile(), certificate = try temporaryFile(), key = try temporaryFile()
        let config = try loadIsolated(file: nil, overrides: ConfigOverrides(nodes: ["10.0.0.1:a", "[2001:db8::2]:b", "tessera-3.example.com", "::1"], services: ["p2p=19000:9000", "q2t=unix:/run/quorum \"x\"/tm.ipc:9101"], ["--listen": "::", "--workers": "7", "--balance": "leastconn", "--max-conns": "99", "--connect-timeout": "1", "--idle-timeout": "86400000", "--max-fails": "1000", "--fail-timeout": "1", "--forward": "splice", "--pipe-size": "4096", "--node-user-timeout": "0", "--node-keepalive": "0", "--all-down": "least-recently-failed", "--no-health": "false", "--health-port": "9080", "--health-path": "/partyinfo/keys", "--health-status": "204", "--health-body": "line\n\"quoted\"\\ \u{1}", "--health-interval": "10", "--health-fast-interval": "3600000", "--health-timeout": "600000", "--health-rise": "100", "--health-fall": "1", "--health-initial": "down", "--health-scope": "service", "--on-marked-down": "keep", "--health-ca": ca.path, "--health-cert": certificate.path, "--health-key": key.path, "--health-server-name": "lb.example.com", "--health-insecure": "true"]))
        let printed = try TemporaryConfigFile(ConfigWriter.json(config))
        #expect(try loadIsolated(file: printed.path, overrides: ConfigOverrides()) == config)
    }

    @Test("an empty TLS block is printed, so HTTPS stays on")
    func emptyTLSRoundTrip() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "health": {"tls": {}}}"#)
        let config = try loadIsolated(file: file.path, overrides: ConfigOverrides())
        let printed = try TemporaryConfigFile(ConfigWriter.json(config))
        #expect(try loadIsolated(file: printed.path, overrides: ConfigOverrides()).health.tls == BalancerConfig.Health.TLS())
    }

    @Test("the defaults print in the file format, unset settings left out")
    func layout() throws {
        var config = BalancerConfig()
        config.nodes = [BalancerConfig.Node(host: "10.0.0.1"), BalancerConfig.Node(host: "10.0.0.2", name: "b")]
        config.services = [
            BalancerConfig.Service(name: "p2p", listenPort: 9000),
            BalancerConfig.Service(name: "q2t", listenPort: 0, nodePort: 9101, listenPath: "/run/tm.ipc"),
        ]
        #expect(ConfigWriter.json(config) == """
            {
              "nodes": [
                "10.0.0.1",
                {"host": "10.0.0.2", "name": "b"}
              ],
              "services": [
                {"name": "p2p", "listenPort": 9000, "nodePort": 9000},
                {"name": "q2t", "listenPath": "/run/tm.ipc", "nodePort": 9101}
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
}
