import LBConfig
import Testing

@Suite("Health flags")
struct HealthFlagTests {
    @Test("every health flag sets its setting")
    func everyFlag() throws {
        let ca = try temporaryFile(), certificate = try temporaryFile(), key = try temporaryFile()
        let health = try loadIsolated(file: nil, overrides: ConfigOverrides(nodes: ["10.0.0.1"], ["--health-port": "9001", "--health-path": "/version", "--health-status": "201", "--health-body": "", "--health-interval": "5000", "--health-fast-interval": "500", "--health-timeout": "3000", "--health-rise": "1", "--health-fall": "3", "--health-initial": "down", "--health-scope": "service", "--on-marked-down": "keep", "--health-ca": ca.path, "--health-cert": certificate.path, "--health-key": key.path, "--health-server-name": "10.0.0.100", "--health-insecure": "true"])).health
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
        #expect(try !loadIsolated(file: file.path, overrides: ConfigOverrides(["--no-health": "false"])).health.enabled)
    }

    @Test("--health-insecure alone turns HTTPS on without verification")
    func insecureAlone() throws {
        let tls = try loadIsolated(file: nil, overrides: ConfigOverrides(nodes: ["10.0.0.1"], ["--health-insecure": "true"])).health.tls
        var expected = BalancerConfig.Health.TLS()
        expected.insecure = true
        #expect(tls == expected)
    }

    @Test("a bad health flag is named by the flag", arguments: [
        (ConfigOverrides(["--health-port": "70000"]), #"invalid --health-port "70000": must be between 1 and 65535"#),
        (ConfigOverrides(["--health-path": "/a\tb"]),
         #"invalid --health-path "/a\tb": must start with '/' and contain no spaces or control characters"#),
        (ConfigOverrides(["--health-status": "ok"]), #"invalid --health-status "ok": must be an integer between 200 and 599"#),
        (ConfigOverrides(["--health-interval": "1s"]),
         #"invalid --health-interval "1s": must be an integer between 10 and 3600000 milliseconds"#),
        (ConfigOverrides(["--health-fast-interval": "5"]),
         #"invalid --health-fast-interval "5": must be between 10 and 3600000 milliseconds"#),
        (ConfigOverrides(["--health-timeout": "600001"]),
         #"invalid --health-timeout "600001": must be between 1 and 600000 milliseconds"#),
        (ConfigOverrides(["--health-rise": "0"]), #"invalid --health-rise "0": must be between 1 and 100"#),
        (ConfigOverrides(["--health-fall": "-1"]), #"invalid --health-fall "-1": must be between 1 and 100"#),
        (ConfigOverrides(["--health-initial": "UP"]), #"invalid --health-initial "UP": must be up or down"#),
        (ConfigOverrides(["--health-scope": "all"]), #"invalid --health-scope "all": must be node or service"#),
        (ConfigOverrides(["--on-marked-down": "drain"]), #"invalid --on-marked-down "drain": must be shutdown-sessions or keep"#),
        (ConfigOverrides(["--health-ca": "/nonexistent/ca.pem"]),
         #"invalid --health-ca "/nonexistent/ca.pem": cannot read it: No such file or directory"#),
        (ConfigOverrides(["--health-key": ""]), #"invalid --health-key "": the file name is empty"#),
        (ConfigOverrides(["--health-server-name": ""]),
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
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--health-key": key.path])) ==
            #"invalid --health-key "\#(key.path)": a client key needs its certificate; give the certificate too "#
                + "(health.tls.certificateFile, --health-cert or TESSERA_LB_HEALTH_CERT)")
    }
}
