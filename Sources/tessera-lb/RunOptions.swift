import ArgumentParser
import LBConfig
import LBTessera

/// The flags of `tessera-lb run` and `tessera-lb check-config` (docs/configuration.md).
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
            "A balanced service; repeat for each. Replaces the defaults p2p=9000, thirdparty=9080, q2t=9101. "
                + "NAME=unix:PATH:NODEPORT listens on a unix socket.",
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
        help: ArgumentHelp("Idle timeout of a connection, milliseconds; 0 is off (default: 600000, 10 minutes).", valueName: "MS")
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
        help: ArgumentHelp(
            "epoll, io_uring or auto (default: auto: io_uring where the kernel allows it, else epoll).",
            valueName: "ENGINE"
        )
    )
    var engine: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Pipe capacity for splice, bytes (default: 262144).", valueName: "BYTES")
    )
    var pipeSize: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "TCP_USER_TIMEOUT on node sockets, milliseconds; 0 keeps the kernel's (default: 10000).",
            valueName: "MS"
        )
    )
    var nodeUserTimeout: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "TCP keepalive idle time on node sockets, seconds; 0 is off (default: 30).",
            valueName: "SECONDS"
        )
    )
    var nodeKeepalive: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "On SIGTERM/SIGINT, how long open connections may finish, milliseconds (default: 30000).",
            valueName: "MS"
        )
    )
    var drainTimeout: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "After a reload, how long the previous configuration's connections may go on, milliseconds; 0 is no limit (default: 0).",
            valueName: "MS"
        )
    )
    var reloadHardStopAfter: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Permissions of the unix-socket listeners' files, in octal (default: as the umask leaves them).",
            valueName: "MODE"
        )
    )
    var unixMode: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Owner of the unix-socket listeners' files, a user and/or group by name or number (default: the balancer's).",
            valueName: "USER[:GROUP]"
        )
    )
    var unixOwner: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "With every node down: refuse, or least-recently-failed (default: refuse).",
            valueName: "POLICY"
        )
    )
    var allDown: String?

    @Flag(help: "Listen on addresses this host does not hold yet (IP_FREEBIND): the standby of a pair behind a floating address.")
    var freebind = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "On SIGTERM/SIGINT, report not-ready but keep accepting this long before draining, milliseconds (default: 0).",
            valueName: "MS"
        )
    )
    var acceptGrace: String?

    @Option(
        name: .customLong("allow"),
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "Admit only these clients to a service: addresses, networks (ADDRESS/PREFIX) or host names; repeatable.",
            valueName: "SERVICE=ENTRY[,ENTRY...]"
        )
    )
    var allow: [String] = []

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "How often to ask every node for its keys, version and partyinfo, milliseconds; 0 is off (default: 30000).",
            valueName: "MS"
        )
    )
    var groupCheckInterval: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "report, or hold-out: no new connections for a node whose own keys differ from the majority's (default: report).",
            valueName: "POLICY"
        )
    )
    var groupPolicy: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "on or off: send every POST /partyinfo on the p2p service to the other nodes that are up too (default: on).",
            valueName: "on|off"
        )
    )
    var mirrorPartyinfo: String?

    @Option(
        name: .customLong("tessera-config"),
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "A Tessera node's config file; repeat for each node. Gives the nodes, services, probe port and TLS.",
            valueName: "FILE"
        )
    )
    var tesseraConfigs: [String] = []

    @Flag(help: "Turn the active health probe off (passive health checks stay).")
    var noHealth = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The node port probed (default: the p2p service's node port).",
            valueName: "PORT"
        )
    )
    var healthPort: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The probe's path (default: /upcheck).",
            valueName: "PATH"
        )
    )
    var healthPath: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The status a healthy node answers (default: 200).",
            valueName: "CODE"
        )
    )
    var healthStatus: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Text a healthy answer contains; empty turns the check off (default: I'm up!).",
            valueName: "TEXT"
        )
    )
    var healthBody: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Milliseconds between probes (default: 1000).",
            valueName: "MS"
        )
    )
    var healthInterval: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Milliseconds between probes while a node changes state (default: 300).",
            valueName: "MS"
        )
    )
    var healthFastInterval: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "A probe's timeout, milliseconds (default: 1000).",
            valueName: "MS"
        )
    )
    var healthTimeout: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Passed probes that bring a node up (default: 2).",
            valueName: "N"
        )
    )
    var healthRise: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Failed probes that take a node down (default: 2).",
            valueName: "N"
        )
    )
    var healthFall: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "A node's state before its first probes: up or down (default: up).",
            valueName: "STATE"
        )
    )
    var healthInitial: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "node (one probe per node) or service (each service's port too) (default: node).",
            valueName: "SCOPE"
        )
    )
    var healthScope: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Open connections of a node marked down: shutdown-sessions or keep (default: shutdown-sessions).",
            valueName: "POLICY"
        )
    )
    var onMarkedDown: String?

    @Option(
        name: .customLong("health-ca"),
        parsing: .unconditional,
        help: ArgumentHelp(
            "PEM CA file the probe trusts; turns HTTPS on.",
            valueName: "FILE"
        )
    )
    var healthCA: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "PEM client certificate the probe presents; needs --health-key.",
            valueName: "FILE"
        )
    )
    var healthCert: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "PEM key of --health-cert.",
            valueName: "FILE"
        )
    )
    var healthKey: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The name the probe sends (SNI) and verifies.",
            valueName: "NAME"
        )
    )
    var healthServerName: String?

    @Flag(help: "Probe with HTTPS without verifying the certificate (testing only).")
    var healthInsecure = false

    @Flag(help: "Print the effective configuration as a config file (JSON) and exit without starting.")
    var printConfig = false

    /// The configuration from `--config` (or TESSERA_LB_CONFIG), `--tessera-config` files, TESSERA_LB_...
    /// variables and the flags, in that order of precedence, validated.
    func loadConfig(
        environment: [String: String] = ConfigLoader.processEnvironment
    ) throws(ConfigError) -> BalancerConfig {
        try ConfigLoader.load(
            file: config, overrides: overrides(), environment: environment, importer: TesseraConfigImporter()
        )
    }

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
            engine: engine,
            pipeSize: pipeSize,
            nodeUserTimeoutMs: nodeUserTimeout,
            nodeKeepaliveSeconds: nodeKeepalive,
            drainTimeoutMs: drainTimeout,
            unixMode: unixMode,
            unixOwner: unixOwner,
            reloadHardStopAfterMs: reloadHardStopAfter,
            allDown: allDown,
            freebind: freebind ? "true" : nil,
            acceptGraceMs: acceptGrace,
            allow: allow,
            groupCheckIntervalMs: groupCheckInterval,
            groupPolicy: groupPolicy,
            mirrorPartyinfo: mirrorPartyinfo,
            tesseraConfigs: tesseraConfigs,
            healthEnabled: noHealth ? "false" : nil,
            healthPort: healthPort,
            healthPath: healthPath,
            healthStatus: healthStatus,
            healthBody: healthBody,
            healthIntervalMs: healthInterval,
            healthFastIntervalMs: healthFastInterval,
            healthTimeoutMs: healthTimeout,
            healthRise: healthRise,
            healthFall: healthFall,
            healthInitial: healthInitial,
            healthScope: healthScope,
            onMarkedDown: onMarkedDown,
            healthCA: healthCA,
            healthCert: healthCert,
            healthKey: healthKey,
            healthServerName: healthServerName,
            healthInsecure: healthInsecure ? "true" : nil
        )
    }
}
