import LBConfig
import LBTestSupport
import Testing

@Suite("The probe's HTTPS settings from the P2P sslConfig")
struct ProbeTLSTests {
    let directory: TesseraDirectory
    let ca: String, certificate: String, key: String

    init() throws {
        directory = try TesseraDirectory()
        ca = try directory.write("ca.crt", "-----BEGIN CERTIFICATE-----\n")
        certificate = try directory.write("p2p.crt", "-----BEGIN CERTIFICATE-----\n")
        key = try directory.write("p2p.key", "-----BEGIN PRIVATE KEY-----\n")
    }

    /// A node whose P2P server uses TLS with `ssl` as its sslConfig members.
    func node(_ ssl: String, name: String = "node.json") throws -> String {
        let servers = [
            TesseraConfigText.server("Q2T", serverAddress: "http://lb.example.com:9101", bindingAddress: "http://10.0.0.11:9101"),
            TesseraConfigText.server("P2P", serverAddress: "https://lb.example.com:9000", bindingAddress: "https://10.0.0.11:9000",
                                     extra: #""sslConfig": { "tls": "STRICT", \#(ssl) }"#),
        ]
        return try directory.write(name, TesseraConfigText.node(servers: servers))
    }

    @Test("STRICT with PEM files: the client trust CA, the client certificate and key, the advertised name")
    func pemFiles() throws {
        let file = try node("""
            "clientAuth": true,
            "serverTlsKeyPath": "/elsewhere/server.key", "serverTlsCertificatePath": "/elsewhere/server.crt",
            "serverTrustCertificates": ["/elsewhere/ca.crt"], "serverTrustMode": "CA",
            "clientTlsKeyPath": "\(key)", "clientTlsCertificatePath": "\(certificate)",
            "clientTrustCertificates": ["\(ca)"], "clientTrustMode": "CA"
            """)
        var expected = BalancerConfig.Health.TLS()
        expected.caFile = ca
        expected.certificateFile = certificate
        expected.keyFile = key
        expected.serverName = "lb.example.com"
        #expect(try load(ConfigOverrides(tesseraConfigs: [file])).health.tls == expected)
    }

    @Test("without client-side files the server's own certificate, key and trust are used")
    func serverSide() throws {
        let file = try node("""
            "serverTlsKeyPath": "\(key)", "serverTlsCertificatePath": "\(certificate)", "serverTrustCertificates": ["\(ca)"]
            """)
        let tls = try load(ConfigOverrides(tesseraConfigs: [file])).health.tls
        #expect(tls?.caFile == ca)
        #expect(tls?.certificateFile == certificate)
        #expect(tls?.keyFile == key)
    }

    @Test("clientAuth false (as a string, too) needs no client certificate; trust mode NONE verifies nothing")
    func noClientAuth() throws {
        let file = try node(#""clientAuth": "false", "clientTrustMode": "NONE""#)
        var expected = BalancerConfig.Health.TLS()
        expected.serverName = "lb.example.com"
        expected.insecure = true
        #expect(try load(ConfigOverrides(tesseraConfigs: [file])).health.tls == expected)
    }

    @Test("a JKS keystore is rejected, naming the field and the way out")
    func keystore() throws {
        let file = try node(#""clientKeyStore": "/config/tls/client.jks", "clientKeyStorePassword": "secret", "clientTrustCertificates": ["\#(ca)"]"#)
        #expect(rejection(ConfigOverrides(tesseraConfigs: [file])) ==
            #"invalid serverConfigs[1].sslConfig.clientKeyStore "/config/tls/client.jks" in \#(file): is a JKS keystore, "#
                + "which tessera-lb cannot read; give the probe a client certificate and key as PEM with --health-cert "
                + "and --health-key (or use the PEM fields of sslConfig)")
    }

    @Test("PEM files given by flags take the place of a keystore")
    func keystoreReplacedByFlags() throws {
        let file = try node(#""clientKeyStore": "/config/tls/client.jks", "clientTrustStore": "/config/tls/trust.jks""#)
        let tls = try load(ConfigOverrides(tesseraConfigs: [file], ["--health-ca": ca, "--health-cert": certificate, "--health-key": key])).health.tls
        #expect(tls?.caFile == ca)
        #expect(tls?.certificateFile == certificate)
        #expect(tls?.serverName == "lb.example.com")
    }

    @Test("with the probe off, TLS files the balancer cannot read do not matter")
    func healthOff() throws {
        let file = try node(#""clientKeyStore": "/config/tls/client.jks""#)
        #expect(try !load(ConfigOverrides(tesseraConfigs: [file], ["--no-health": "false"])).health.enabled)
    }

    @Test("a certificate path that does not exist on the balancer's host names the Tessera field")
    func missingFile() throws {
        let file = try node(#""clientTlsKeyPath": "/config/tls/p2p.key", "clientTlsCertificatePath": "\#(certificate)""#)
        #expect(rejection(ConfigOverrides(tesseraConfigs: [file])) ==
            #"invalid serverConfigs[1].sslConfig.clientTlsKeyPath "/config/tls/p2p.key" in \#(file): cannot read it: "#
                + "No such file or directory")
        #expect(rejection(ConfigOverrides(tesseraConfigs: [file], ["--health-key": key])) == nil)
    }

    @Test("a FIFO as the sslConfig's key is refused at once, naming the Tessera field, instead of blocking")
    func fifoKey() throws {
        let fifo = try FIFO()
        let file = try node(#""clientTlsKeyPath": "\#(fifo.path)", "clientTlsCertificatePath": "\#(certificate)""#)
        let line = fifo.finishes { rejection(ConfigOverrides(tesseraConfigs: [file])) }
        #expect(line == #"invalid serverConfigs[1].sslConfig.clientTlsKeyPath "\#(fifo.path)" in \#(file): "#
            + "not a regular file (a FIFO)")
    }

    @Test("more than one CA file is rejected: the probe takes one")
    func twoCAs() throws {
        let file = try node(#""clientAuth": false, "clientTrustCertificates": ["\#(ca)", "\#(ca)"]"#)
        #expect(rejection(ConfigOverrides(tesseraConfigs: [file])) ==
            "invalid serverConfigs[1].sslConfig.clientTrustCertificates in \(file): lists 2 CA files and the probe "
                + "takes one; put them in one PEM file and give it with --health-ca")
    }

    @Test("clientAuth on with no certificate at all says how to give one")
    func noClientCertificate() throws {
        let file = try node(#""clientTrustCertificates": ["\#(ca)"]"#)
        #expect(rejection(ConfigOverrides(tesseraConfigs: [file])) ==
            "invalid serverConfigs[1].sslConfig in \(file): clientAuth is on (Tessera's default) but there is no PEM "
                + "client certificate for the probe; give one with --health-cert and --health-key, or set clientAuth "
                + "to false if the node does not ask for one")
    }
}
