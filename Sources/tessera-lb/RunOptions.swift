import ArgumentParser
import LBConfig

/// The flags of `tessera-lb run` (docs/configuration.md).
///
/// Every value is taken as text and handed to `ConfigLoader`, which parses and checks it, so a bad value
/// (`--workers abc`) gets the same one-line error and exit status 2 as a bad config file value. Values are
/// taken unconditionally so that one starting with '-' (`--idle-timeout -1`) also reaches that check.
struct RunOptions: ParsableArguments {
    @Option(
        name: .customLong("node"),
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "A Tessera node; repeat for each. IPv6 with a name: [ADDR]:name. Replaces the config file's nodes.",
            valueName: "HOST[:name]"
        )
    )
    var nodes: [String] = []

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("The IPv4 or IPv6 address the listeners bind (default: 0.0.0.0).", valueName: "ADDR")
    )
    var listen: String?

    @Option(
        name: .customLong("service"),
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "A balanced service; repeat for each. Replaces the defaults p2p=9000, thirdparty=9080, q2t=9101.",
            valueName: "NAME=LISTENPORT[:NODEPORT]"
        )
    )
    var services: [String] = []

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Forwarding worker threads, 1-256 (default: one per core).", valueName: "N")
    )
    var workers: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("A JSON config file; flags override its settings.", valueName: "FILE")
    )
    var config: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("roundrobin or leastconn (default: roundrobin).", valueName: "ALGORITHM")
    )
    var balance: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Open client connections across all workers (default: 16384).", valueName: "N")
    )
    var maxConns: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Connect timeout to a node, milliseconds (default: 2000).", valueName: "MS")
    )
    var connectTimeout: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Idle timeout of a connection, milliseconds; 0 is off (default: 0).", valueName: "MS")
    )
    var idleTimeout: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Failed connects within --fail-timeout that take a node out; 0 is off (default: 3).",
            valueName: "N"
        )
    )
    var maxFails: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The window for --max-fails and how long a node stays out, milliseconds (default: 5000).",
            valueName: "MS"
        )
    )
    var failTimeout: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("splice, copy or auto (default: auto).", valueName: "MODE")
    )
    var forward: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Pipe capacity for splice, bytes (default: 65536).", valueName: "BYTES")
    )
    var pipeSize: String?

    /// The flags for `ConfigLoader.load(file: config, overrides:)`; `--config` itself is not among them.
    func overrides() -> ConfigOverrides {
        ConfigOverrides(
            nodes: nodes,
            listen: listen,
            services: services,
            workers: workers,
            balance: balance,
            maxConns: maxConns,
            connectTimeoutMs: connectTimeout,
            idleTimeoutMs: idleTimeout,
            maxFails: maxFails,
            failTimeoutMs: failTimeout,
            forward: forward,
            pipeSize: pipeSize
        )
    }
}
