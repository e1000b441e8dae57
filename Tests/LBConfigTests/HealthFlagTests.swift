import LBConfig
import Testing

@Suite("Health flags")
struct HealthFlagTests {
    @Test("every health flag sets its setting")
    func everyFlag() throws {
        let ca = try temporaryFile(), certificate = try temporaryFile(), key = try temporaryFile()
        let health = try loadIsolated(file: nil, overrides: ConfigOverrides(
            nodes: ["10.0.0.1"], healthPort: "9001", healthPath: "/version", healthStatus: "201", healthBody: "",
            healthIntervalMs: "5000", healthFastIntervalMs: "500", healthTimeoutMs: "3000", healthRise: "1",
            healthFall: "3", healthInitial: "down", healthScope: "service", onMarkedDown: "keep",
            healthCA: ca.path, healthCert: certificate.path, healthKey: key.path, healthServerName: "10.0.0.100",
            healthInsecure: "true"
        )).health
        #expect(health.port == 9001)
        #expect(health.path == "/version")
        #expect(health.expectStatus == 201)
        #expect(health.expectBody == "")
        #expect((health.intervalMs, health.fastIntervalMs, health.timeoutMs) == (5000, 500, 3000))
        #expect((health.rise, health.fall) == (1, 3))
        #expect(health.initialState == .down)
        #expect(health.scope == .service)
        #expect(health.onMarkedDown == .keep)
        #expect(health.tls?.caFile == ca.path)
        #expect(health.tls?.certificateFile == certificate.path)
        #expect(health.tls?.keyFile == key.path)
        #expect(health.tls?.serverName == "10.0.0.100")
        #expect(health.tls?.insecure == true)
    }

    @Test("--no-health turns the probe off over the file's enabled: true")
    func noHealth() throws {
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "health": {"enabled": true}}"#)
        #expect(try !loadIsolated(file: file.path, overrides: ConfigOverrides(healthEnabled: "false")).health.enabled)
    }

    @Test("--health-insecure alone turns HTTPS on without verification")
    func insecureAlone() throws {
        let tls = try loadIsolated(file: nil, overrides: ConfigOverrides(nodes: ["10.0.0.1"], healthInsecure: "true")).health.tls
        var expected = BalancerConfig.Health.TLS()
        expected.insecure = true
        #expect(tls == expected)
    }

    @Test("a bad health flag is named by the flag", arguments: [
        (ConfigOverrides(healthPort: "70000"), #"invalid --health-port "70000": must be between 1 and 65535"#),
        (ConfigOverrides(healthPath: "/a\tb"),
         #"invalid --health-path "/a\tb": must start with '/' and contain no spaces or control characters"#),
        (ConfigOverrides(healthStatus: "ok"), #"invalid --health-status "ok": must be an integer between 200 and 599"#),
        (ConfigOverrides(healthIntervalMs: "1s"),
         #"invalid --health-interval "1s": must be an integer between 10 and 3600000 milliseconds"#),
        (ConfigOverrides(healthFastIntervalMs: "5"),
         #"invalid --health-fast-interval "5": must be between 10 and 3600000 milliseconds"#),
        (ConfigOverrides(healthTimeoutMs: "600001"),
         #"invalid --health-timeout "600001": must be between 1 and 600000 milliseconds"#),
        (ConfigOverrides(healthRise: "0"), #"invalid --health-rise "0": must be between 1 and 100"#),
        (ConfigOverrides(healthFall: "-1"), #"invalid --health-fall "-1": must be between 1 and 100"#),
        (ConfigOverrides(healthInitial: "UP"), #"invalid --health-initial "UP": must be up or down"#),
        (ConfigOverrides(healthScope: "all"), #"invalid --health-scope "all": must be node or service"#),
        (ConfigOverrides(onMarkedDown: "drain"), #"invalid --on-marked-down "drain": must be shutdown-sessions or keep"#),
        (ConfigOverrides(healthCA: "/nonexistent/ca.pem"),
         #"invalid --health-ca "/nonexistent/ca.pem": cannot read it: No such file or directory"#),
        (ConfigOverrides(healthKey: ""), #"invalid --health-key "": the file name is empty"#),
        (ConfigOverrides(healthServerName: ""),
         #"invalid --health-server-name "": must be a host name (letters, digits, '-', '.', '_') or an IP address"#),
    ])
    func badFlag(overrides: ConfigOverrides, line: String) {
        var overrides = overrides
        overrides.nodes = ["10.0.0.1"]
        #expect(rejection(overrides) == line)
    }

    @Test("a client key without its certificate is rejected, naming the key flag")
    func keyWithoutCertificate() throws {
        let key = try temporaryFile()
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], healthKey: key.path)) ==
            #"invalid --health-key "\#(key.path)": a client key needs its certificate; give the certificate too "#
                + "(health.tls.certificateFile, --health-cert or TESSERA_LB_HEALTH_CERT)")
    }
}
