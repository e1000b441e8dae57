import LBConfig
import Testing

@Suite("The health object in the config file")
struct HealthFileTests {
    @Test("a health object with every key sets every probe setting")
    func everyKey() throws {
        let ca = try temporaryFile(), certificate = try temporaryFile(), key = try temporaryFile()
        let file = try TemporaryConfigFile("""
            {
              "nodes": ["10.0.0.1"],
              "health": {
                "enabled": true,
                "port": 9001,
                "path": "/partyinfo/keys",
                "expectStatus": 202,
                "expectBody": "keys",
                "intervalMs": 2000,
                "fastIntervalMs": 100,
                "timeoutMs": 750,
                "rise": 3,
                "fall": 4,
                "initialState": "down",
                "scope": "service",
                "onMarkedDown": "keep",
                "tls": {
                  "caFile": "\(ca.path)",
                  "certificateFile": "\(certificate.path)",
                  "keyFile": "\(key.path)",
                  "serverName": "lb.example.com",
                  "insecure": false
                }
              }
            }
            """)
        let health = try loadIsolated(file: file.path, overrides: ConfigOverrides()).health
        #expect(health.enabled)
        #expect(health.port == 9001)
        #expect(health.path == "/partyinfo/keys")
        #expect(health.expectStatus == 202)
        #expect(health.expectBody == "keys")
        #expect(health.intervalMs == 2000)
        #expect(health.fastIntervalMs == 100)
        #expect(health.timeoutMs == 750)
        #expect(health.rise == 3)
        #expect(health.fall == 4)
        #expect(health.initialState == .down)
        #expect(health.scope == .service)
        #expect(health.onMarkedDown == .keep)
        var tls = BalancerConfig.Health.TLS()
        tls.caFile = ca.path
        tls.certificateFile = certificate.path
        tls.keyFile = key.path
        tls.serverName = "lb.example.com"
        #expect(health.tls == tls)
    }

    @Test("with no health object the probe has its documented defaults")
    func defaults() throws {
        let health = try loadIsolated(file: nil, overrides: oneNode).health
        #expect(health == BalancerConfig.Health())
        #expect(health.enabled)
        #expect(health.port == nil)
        #expect(health.path == "/upcheck")
        #expect(health.expectStatus == 200)
        #expect(health.expectBody == "I'm up!")
        #expect(health.intervalMs == 1000)
        #expect(health.fastIntervalMs == 300)
        #expect(health.timeoutMs == 1000)
        #expect((health.rise, health.fall) == (2, 2))
        #expect(health.initialState == .up)
        #expect(health.scope == .node)
        #expect(health.onMarkedDown == .shutdownSessions)
        #expect(health.tls == nil)
    }

    @Test("an empty tls object turns HTTPS on with the system's trust")
    func emptyTLS() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "health": {"tls": {}}}"#)
        #expect(try loadIsolated(file: file.path, overrides: ConfigOverrides()).health.tls == BalancerConfig.Health.TLS())
    }

    @Test("an empty body turns the body check off and enabled false turns the probe off")
    func offSwitches() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "health": {"enabled": false, "expectBody": ""}}"#)
        let health = try loadIsolated(file: file.path, overrides: ConfigOverrides()).health
        #expect(!health.enabled)
        #expect(health.expectBody == "")
    }

    /// Each case: the health object, and the line it is rejected with, FILE standing for the file's path.
    @Test("a bad health value is named by its key path", arguments: [
        (#"{"intervall": 5}"#,
         "invalid health.intervall in FILE: unknown key; the keys here are enabled, port, path, expectStatus, "
            + "expectBody, intervalMs, fastIntervalMs, timeoutMs, rise, fall, initialState, scope, onMarkedDown, tls"),
        (#"{"tls": {"ca": "x"}}"#,
         "invalid health.tls.ca in FILE: unknown key; the keys here are caFile, certificateFile, keyFile, serverName, insecure"),
        (#"{"enabled": "false"}"#, #"invalid health.enabled "false" in FILE: expected true or false, got a string"#),
        (#"{"tls": true}"#, #"invalid health.tls "true" in FILE: expected an object, got a boolean"#),
        (#"{"port": 0}"#, #"invalid health.port "0" in FILE: must be between 1 and 65535"#),
        (#"{"path": "upcheck"}"#,
         #"invalid health.path "upcheck" in FILE: must start with '/' and contain no spaces or control characters"#),
        (#"{"path": "/up check"}"#,
         #"invalid health.path "/up check" in FILE: must start with '/' and contain no spaces or control characters"#),
        (#"{"expectStatus": 199}"#, #"invalid health.expectStatus "199" in FILE: must be between 200 and 599"#),
        (#"{"intervalMs": 9}"#, #"invalid health.intervalMs "9" in FILE: must be between 10 and 3600000 milliseconds"#),
        (#"{"fastIntervalMs": 3600001}"#,
         #"invalid health.fastIntervalMs "3600001" in FILE: must be between 10 and 3600000 milliseconds"#),
        (#"{"timeoutMs": 0}"#, #"invalid health.timeoutMs "0" in FILE: must be between 1 and 600000 milliseconds"#),
        (#"{"rise": 0}"#, #"invalid health.rise "0" in FILE: must be between 1 and 100"#),
        (#"{"fall": 101}"#, #"invalid health.fall "101" in FILE: must be between 1 and 100"#),
        (#"{"initialState": "unknown"}"#, #"invalid health.initialState "unknown" in FILE: must be up or down"#),
        (#"{"scope": "cluster"}"#, #"invalid health.scope "cluster" in FILE: must be node or service"#),
        (#"{"onMarkedDown": "close"}"#,
         #"invalid health.onMarkedDown "close" in FILE: must be shutdown-sessions or keep"#),
        (#"{"tls": {"caFile": "/nonexistent/ca.pem"}}"#,
         #"invalid health.tls.caFile "/nonexistent/ca.pem" in FILE: cannot read it: No such file or directory"#),
        (#"{"tls": {"caFile": "/tmp"}}"#, #"invalid health.tls.caFile "/tmp" in FILE: not a regular file (a directory)"#),
        (#"{"tls": {"serverName": "lb example"}}"#,
         #"invalid health.tls.serverName "lb example" in FILE: must be a host name (letters, digits, '-', '.', '_') or an IP address"#),
        (#"{"tls": {"insecure": 1}}"#, #"invalid health.tls.insecure "1" in FILE: expected true or false, got an integer"#),
    ])
    func badValue(health: String, line: String) throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "health": \#(health)}"#)
        #expect(rejection(file: file.path, ConfigOverrides()) == line.replacing("FILE", with: file.path))
    }

    @Test("a client certificate without its key is rejected, naming the certificate")
    func certificateWithoutKey() throws {
        let certificate = try temporaryFile()
        let file = try TemporaryConfigFile(
            #"{"nodes": ["10.0.0.1"], "health": {"tls": {"certificateFile": "\#(certificate.path)"}}}"#
        )
        #expect(rejection(file: file.path, ConfigOverrides()) ==
            #"invalid health.tls.certificateFile "\#(certificate.path)" in \#(file.path): a client certificate needs "#
                + "its key; give the key too (health.tls.keyFile, --health-key or TESSERA_LB_HEALTH_KEY)")
    }

    @Test("a key in the file and its certificate from a flag make a pair")
    func pairAcrossSources() throws {
        let certificate = try temporaryFile(), key = try temporaryFile()
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "health": {"tls": {"keyFile": "\#(key.path)"}}}"#)
        let tls = try loadIsolated(file: file.path, overrides: ConfigOverrides(["--health-cert": certificate.path])).health.tls
        #expect(tls?.certificateFile == certificate.path)
        #expect(tls?.keyFile == key.path)
    }
}
