import ArgumentParser
import Foundation
import LBAdmin

/// `tessera-lb health`: for Docker's HEALTHCHECK and Kubernetes probes. Exit 0 when the balancer on this host
/// serves (accepts connections) and at least one node is up; 1 otherwise.
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Exit 0 when the balancer here is serving and at least one node is up (for HEALTHCHECK and probes).",
        discussion: "Asks the admin listener's /readyz (with --serving-only, /healthz)."
    )

    @OptionGroup var options: CtlOptions

    @Flag(help: "Only ask whether the balancer process answers (/healthz, also while draining), not whether it serves.")
    var servingOnly = false

    func run() throws {
        let client = try options.client()
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
