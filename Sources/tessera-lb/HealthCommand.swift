import ArgumentParser
import Foundation
import LBAdminClient

/// `tessera-lb health`: for Docker's HEALTHCHECK, Kubernetes probes and keepalived's `vrrp_script`. Exit 0 when
/// the balancer on this host serves (accepts connections, is not stopping) and at least one node is up; 1
/// otherwise: the process is gone, hangs, drains, is in its accept grace after SIGTERM, or has no node up.
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Exit 0 when the balancer here is serving and at least one node is up (for HEALTHCHECK, probes and keepalived).",
        discussion: "Asks the admin listener's /readyz (with --serving-only, /healthz)."
    )

    @OptionGroup var options: CtlOptions

    @Flag(help: "Only ask whether the balancer process answers (/healthz, also while draining), not whether it serves.")
    var servingOnly = false

    @Option(
        help: ArgumentHelp(
            "How long to wait for the answer, milliseconds; a balancer that does not answer in time is unhealthy (default: 1000).",
            valueName: "MS"
        )
    )
    var timeout: Int = 1_000

    func validate() throws {
        guard (1...600_000).contains(timeout) else {
            throw ValidationError("invalid --timeout \"\(timeout)\": must be between 1 and 600000 milliseconds")
        }
    }

    func run() throws {
        let client = try options.client(timeoutMs: Int64(timeout))
        let path = servingOnly ? "/healthz" : "/readyz"
        let answer: AdminClient.Answer
        do {
            answer = try client.get(path)
        } catch {
            throw StartError(message: "unhealthy: the admin listener does not answer (\(error))")
        }
        guard answer.status == 200 else {
            throw StartError(message: "unhealthy: \(answer.body.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        print(answer.body, terminator: "")
    }
}
