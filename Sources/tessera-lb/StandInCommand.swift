import ArgumentParser
import LBStandIn
import Logging

/// `tessera-lb stand-in`: the stand-in Tessera node the tests, bench/ and the demo use, as a process.
struct StandInCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stand-in",
        abstract: "Run a stand-in Tessera node (for tests, benchmarks and the demo; not a real Tessera).",
        discussion: """
            Serves Tessera's three HTTP servers (GET /upcheck answers 200 "I'm up!", other paths a ~1 KiB JSON \
            document naming the node). Switch its behaviour from another shell with a line on the control port: \
            echo "mode hang" | nc HOST CONTROLPORT (modes: up, refuse, hang, fail, reset, wrongbody, slow); \
            "keys K1,K2" and "version V" change what it says of itself. As a Tessera node of a group it learns \
            remote keys from POST /partyinfo (per process), answers GET /partyinfo, /keys, /version/distribution, \
            and POST /send with 404 "Recipient not found" for a key it has not heard of.
            """
    )

    @Option(help: "The address to serve on (IPv4 or IPv6 literal).")
    var host = "127.0.0.1"

    @Option(help: "The node's name, reported in every answer.")
    var name = "standin"

    @Option(name: .customLong("port"), help: ArgumentHelp("An HTTP service, NAME=PORT; repeatable (default: p2p=9000 thirdparty=9080 q2t=9101).", valueName: "NAME=PORT"))
    var ports: [String] = []

    @Option(help: "Also serve raw TCP echo on this port.")
    var echoPort: Int?

    @Option(help: "Take control lines (mode up|refuse|hang|fail|reset|wrongbody|slow) on this port.")
    var controlPort: Int?

    @Option(help: "Worker threads.")
    var workers = 1

    @Option(help: ArgumentHelp("The node's own public keys, comma-separated base64 (default: Tessera's sample key, the same for every stand-in).", valueName: "KEYS"))
    var keys: String?

    @Option(help: "What GET /version/distribution answers (default: 24.4.2).")
    var tesseraVersion: String = TesseraModel.defaultVersion

    func run() throws {
        var served: [StandInNode.Port] = []
        if ports.isEmpty {
            served = StandInNode.tesseraPorts
        } else {
            for spec in ports {
                let parts = spec.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port) else {
                    throw ValidationError("--port \"\(spec)\": expected NAME=PORT")
                }
                served.append(.init(port, .http(service: String(parts[0]))))
            }
        }
        if let echoPort { served.append(.init(echoPort, .echo)) }
        let logger = bootstrapStdoutLogging(label: "stand-in")
        let signals = SignalWaiter.blockTerminationSignals()
        let node: StandInNode
        do {
            let model = TesseraModel(
                keys: keys.map { $0.split(separator: ",").map(String.init) } ?? TesseraModel.defaultKeys, version: tesseraVersion
            )
            node = try StandInNode(name: name, host: host, ports: served, workers: workers, controlPort: controlPort, tessera: model)
        } catch {
            throw StartError(message: "stand-in \(name): \(error)")
        }
        let listening = zip(served, node.boundPorts).map { port, bound in
            if case .http(let service) = port.speaks { return "\(service)=\(bound)" }
            return "echo=\(bound)"
        }
        logger.info(
            "stand-in node up",
            metadata: [
                "name": "\(name)", "host": "\(host)", "ports": "\(listening.joined(separator: " "))",
                "control": "\(node.controlPort.map(String.init) ?? "none")",
            ]
        )
        _ = signals.wait()
        node.stop()
    }
}
