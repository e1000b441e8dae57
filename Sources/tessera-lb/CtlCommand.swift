import ArgumentParser
import Foundation
import LBAdminClient
import LBAdminServer
import LBConfig

/// `tessera-lb ctl`: asks or steers a running balancer through its admin listener.
struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Ask or steer a running tessera-lb through its admin listener.",
        discussion: """
            Exit status: 0 done, 1 the balancer could not be reached or refused (unknown node, wrong token), \
            2 invalid arguments.
            """,
        subcommands: [Status.self, Drain.self, Disable.self, Enable.self, Reload.self]
    )
}

/// The flags every `ctl` subcommand takes: where the admin listener is, and the token.
struct CtlOptions: ParsableArguments {
    @OptionGroup var access: AdminAccessOptions

    /// - Parameter timeoutMs: how long to wait for the answer, milliseconds.
    func client(timeoutMs: Int64 = 5_000) throws(ConfigError) -> AdminClient {
        let environment = ProcessInfo.processInfo.environment
        var endpoint = AdminEndpoint.standard
        if let admin = access.admin {
            endpoint = try AdminSettings.parseEndpoint(admin, setting: "--admin")
        } else if let variable = environment["TESSERA_LB_ADMIN"], !variable.isEmpty, variable != "off" {
            endpoint = try AdminSettings.parseEndpoint(variable, setting: "TESSERA_LB_ADMIN")
        }
        let token = try AdminSettings.token(flag: access.adminToken, environment: environment)
        return AdminClient(endpoint: endpoint, token: token, timeoutMs: timeoutMs)
    }
}

extension CtlCommand {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each node's state, why and since when, the connections and the recent transitions."
        )

        @OptionGroup var options: CtlOptions

        @Flag(help: "Print the admin listener's JSON (GET /status) as it is.")
        var json = false

        func run() throws {
            let client = try options.client()
            let answer = try ask { () throws(AdminClient.Failure) in try client.get("/status") }
            guard answer.status == 200 else { throw StartError(message: refusal(answer)) }
            if json {
                print(answer.body, terminator: "")
                return
            }
            let report: StatusReport
            do {
                report = try StatusReport.decoder().decode(StatusReport.self, from: Data(answer.body.utf8))
            } catch {
                throw StartError(message: "the admin listener's /status is not what this ctl reads: \(error)")
            }
            print(StatusText.render(report), terminator: "")
        }
    }

    struct Drain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take no new connections on NODE; its open connections finish."
        )
        @OptionGroup var options: CtlOptions
        @Argument(help: "The node's name, as in `ctl status`.") var node: String
        func run() throws { try setNode(node, "drain", options) }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take NODE out now; its open connections are handled as for a node marked down (--on-marked-down)."
        )
        @OptionGroup var options: CtlOptions
        @Argument(help: "The node's name, as in `ctl status`.") var node: String
        func run() throws { try setNode(node, "disable", options) }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Undo drain or disable: NODE takes connections again when its probe has it up."
        )
        @OptionGroup var options: CtlOptions
        @Argument(help: "The node's name, as in `ctl status`.") var node: String
        func run() throws { try setNode(node, "enable", options) }
    }
}

extension CtlCommand {
    struct Reload: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-read the configuration and apply it, as SIGHUP does; prints what changed.",
            discussion: """
                The balancer re-reads the sources it started with (the config file, the Tessera config files, the \
                environment it started with, its flags). A configuration that does not validate is rejected: the \
                running one stays, and the reason is printed (exit status 1).
                """
        )
        @OptionGroup var options: CtlOptions

        func run() throws {
            // A reload looks node names up and starts threads: give it longer than a page.
            let client = try options.client(timeoutMs: 60_000)
            let answer = try ask { () throws(AdminClient.Failure) in try client.post("/reload") }
            let fields = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: Any] ?? [:]
            guard answer.status == 200 else {
                let reason = fields["error"] as? String ?? answer.body.prefix(200).description
                throw StartError(
                    message: answer.status == 422
                        ? "reload rejected, the running configuration stays: \(reason)"
                        : "the admin listener answered \(answer.status): \(reason)"
                )
            }
            let changes = fields["changes"] as? [String] ?? []
            print(changes.isEmpty ? "reloaded: nothing changed" : "reloaded:\n" + changes.map { "  \($0)" }.joined(separator: "\n"))
        }
    }
}

/// `POST /nodes/NODE/ACTION`, and one line saying what the node is now.
private func setNode(_ node: String, _ action: String, _ options: CtlOptions) throws {
    let client = try options.client()
    var segment = CharacterSet.urlPathAllowed
    segment.remove("/")
    let escaped = node.addingPercentEncoding(withAllowedCharacters: segment) ?? node
    let answer = try ask { () throws(AdminClient.Failure) in try client.post("/nodes/\(escaped)/\(action)") }
    guard answer.status == 200 else { throw StartError(message: refusal(answer)) }
    let fields = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: String] ?? [:]
    let admin = fields["admin"] ?? "?"
    let previous = fields["previous"] ?? "?"
    let state = fields["state"] ?? "?"
    print("\(node): \(admin)\(admin == previous ? " (already)" : " (was \(previous))"); state now \(state)")
}

/// Runs a request; a transport failure becomes the one-line error of exit status 1.
private func ask(_ request: () throws(AdminClient.Failure) -> AdminClient.Answer) throws(StartError) -> AdminClient.Answer {
    do {
        return try request()
    } catch {
        throw StartError(message: error.description)
    }
}

/// The admin listener's own words for a refusal (`{"error": "..."}`), else the status.
private func refusal(_ answer: AdminClient.Answer) -> String {
    let fields = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8))) as? [String: String]
    return "the admin listener answered \(answer.status): \(fields?["error"] ?? answer.body.prefix(200).description)"
}

/// `ctl status` as a person reads it in a terminal.
enum StatusText {
    static func render(_ r: StatusReport) -> String {
        var out = "tessera-lb \(r.version): \(r.engine) engine, forward \(r.forward), \(r.balance), \(r.workers) workers, "
        out += r.health ? "probes on\n" : "probes off\n"
        let c = r.connections
        out += "connections: \(c.open) open of \(c.max), \(c.accepted) accepted (\(String(format: "%.1f", c.acceptedPerSecond))/s), "
        out += "\(c.connectFailures) connect failures, \(c.retries) retried, \(c.noNode) with no node\n"
        out += "traffic: \(r.traffic.bytesUp) bytes client to node, \(r.traffic.bytesDown) bytes node to client\n\n"
        var rows = [["NODE", "HOST", "STATE", "SINCE", "CONNS", "FAILS", "WHY"]]
        for node in r.nodes {
            rows.append([
                node.name, node.host, node.state.rawValue, ago(node.since, r.generatedAt), "\(node.activeConnections)",
                "\(node.connectFailures)", node.reason,
            ])
        }
        out += table(rows)
        out += "\n"
        var services = [["SERVICE", "LISTEN", "NODE PORT", "NODES"]]
        for service in r.services {
            services.append([
                service.name, service.listen, "\(service.nodePort)",
                service.nodes.map { "\($0.name) \($0.state.rawValue)" }.joined(separator: ", "),
            ])
        }
        out += table(services)
        if !r.transitions.isEmpty {
            out += "\nrecent transitions (newest first):\n"
            for t in r.transitions.prefix(10) {
                let node = t.service.map { "\(t.node) (\($0))" } ?? t.node
                out += "  \(ago(t.at, r.generatedAt)) ago  \(node): \(t.from.rawValue) -> \(t.to.rawValue)  \(t.reason)\n"
            }
        }
        return out
    }

    private static func ago(_ date: Date, _ now: Date) -> String {
        let s = max(0, Int(now.timeIntervalSince(date)))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(s % 60)s" }
        if s < 86400 { return "\(s / 3600)h\(s % 3600 / 60)m" }
        return "\(s / 86400)d\(s % 86400 / 3600)h"
    }

    private static func table(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
