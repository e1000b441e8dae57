import LBBalancing
import Foundation
import LBConfig
import LBHealth
import LBStandIn
import LBTestSupport
import Testing
import TesseraLB

/// HTTPS probes with mutual TLS, against a stand-in whose certificates the test makes with openssl.
@Suite("HTTPS probes", .serialized)
struct TLSProbeTests {
    /// A CA, a server certificate for 127.0.0.2 and a client certificate, all signed by the CA.
    final class Certificates: @unchecked Sendable {
        let dir: String
        init() throws {
            dir = NSTemporaryDirectory() + "tessera-lb-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                         "-subj", "/CN=tessera-lb test CA"])
            for (name, ext) in [("server", "subjectAltName=IP:127.0.0.2"), ("client", "extendedKeyUsage=clientAuth")] {
                try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr",
                             "-subj", "/CN=\(name)"])
                try String(ext).write(toFile: "\(dir)/\(name).ext", atomically: true, encoding: .utf8)
                try openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                             "-out", "\(name).pem", "-days", "2", "-extfile", "\(name).ext"])
            }
        }
        func path(_ name: String) -> String { "\(dir)/\(name)" }
        private func openssl(_ arguments: [String]) throws {
            let result = try runCommand(URL(fileURLWithPath: "/usr/bin/openssl"), arguments, timeout: 30, directory: dir)
            if result.status != 0 { throw TestSocket.Failure(description: "openssl \(arguments[0]): \(result.stderr)") }
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }
    }

    private func balancer(probing port: Int, _ tls: BalancerConfig.Health.TLS) throws -> Harness {
        try Harness(hosts: ["127.0.0.2"], nodePorts: [port]) { config in
            config.health.enabled = true
            config.health.port = port
            config.health.initialState = .down  // up only once an HTTPS probe succeeds
            config.health.intervalMs = 100
            config.health.rise = 1
            config.health.tls = tls
        }
    }

    /// The first probe's result, waiting up to 10 s for one.
    private func firstProbeResult(_ harness: Harness) -> ProbeResult? {
        var last: ProbeResult? = nil
        _ = eventually(within: 10) {
            last = harness.balancer.health!.report.first?.lastResult
            return last != nil
        }
        return last
    }

    @Test("a node whose P2P server requires client certificates is up when the probe presents one", .timeLimit(.minutes(1)))
    func mutualTLS() throws {
        let certs = try Certificates()
        let server = try StandInTLSServer(
            host: "127.0.0.2", certificateFile: certs.path("server.pem"), keyFile: certs.path("server.key"),
            clientCAFile: certs.path("ca.pem")
        )
        defer { server.stop() }
        var tls = BalancerConfig.Health.TLS()
        tls.caFile = certs.path("ca.pem")
        tls.certificateFile = certs.path("client.pem")
        tls.keyFile = certs.path("client.key")
        let harness = try balancer(probing: server.port, tls)
        defer { harness.stop() }
        let node = harness.balancer.nodes[0]
        #expect(eventually(within: 10) { node.isMarkedUp }, "up after a good HTTPS probe: \(harness.balancer.health!.report.map { "\($0.lastResult.map(String.init(describing:)) ?? "none")" })")
    }

    @Test("without a client certificate the probe fails with a TLS error and the node stays down", .timeLimit(.minutes(1)))
    func missingClientCertificate() throws {
        let certs = try Certificates()
        let server = try StandInTLSServer(
            host: "127.0.0.2", certificateFile: certs.path("server.pem"), keyFile: certs.path("server.key"),
            clientCAFile: certs.path("ca.pem")
        )
        defer { server.stop() }
        var tls = BalancerConfig.Health.TLS()
        tls.caFile = certs.path("ca.pem")
        let harness = try balancer(probing: server.port, tls)
        defer { harness.stop() }
        let last = firstProbeResult(harness)
        #expect(last != nil)
        #expect(!harness.balancer.nodes[0].isMarkedUp)
        if case .tlsError = last {} else if case .reset = last {} else {
            Issue.record("expected a TLS failure, got \(String(describing: last))")
        }
    }

    @Test("a server certificate from another CA is rejected", .timeLimit(.minutes(1)))
    func untrustedServer() throws {
        let certs = try Certificates()
        let other = try Certificates()
        let server = try StandInTLSServer(host: "127.0.0.2", certificateFile: certs.path("server.pem"), keyFile: certs.path("server.key"))
        defer { server.stop() }
        var tls = BalancerConfig.Health.TLS()
        tls.caFile = other.path("ca.pem")
        let harness = try balancer(probing: server.port, tls)
        defer { harness.stop() }
        let last = firstProbeResult(harness)
        #expect(last != nil)
        #expect(!harness.balancer.nodes[0].isMarkedUp)
        if case .tlsError = last {} else { Issue.record("expected a TLS failure, got \(String(describing: last))") }
    }
}
