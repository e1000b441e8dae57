/// Settings given on the command line (or, with the same shape, in `TESSERA_LB_...` environment variables), as
/// the operator typed them: every value is text and is parsed and checked by `ConfigLoader`, so a bad flag gets
/// the same one-line error as a bad file value.
///
/// nil (or an empty array) means the setting was not given.
public struct ConfigOverrides: Sendable, Equatable {
    /// `--node HOST[:name]`, repeatable; when given, replaces the file's node list. With `--tessera-config`, one
    /// per Tessera config file, in the same order.
    public var nodes: [String]
    /// `--listen ADDR`
    public var listen: String?
    /// `--service NAME=LISTENPORT[:NODEPORT]` or `NAME=unix:PATH:NODEPORT`, repeatable; when given, replaces the
    /// file's or the default services.
    public var services: [String]
    /// `--workers N`
    public var workers: String?
    /// `--balance roundrobin|leastconn`
    public var balance: String?
    /// `--max-conns N`
    public var maxConns: String?
    /// `--connect-timeout MS`
    public var connectTimeoutMs: String?
    /// `--idle-timeout MS`
    public var idleTimeoutMs: String?
    /// `--max-fails N`
    public var maxFails: String?
    /// `--fail-timeout MS`
    public var failTimeoutMs: String?
    /// `--forward splice|copy|auto`
    public var forward: String?
    /// `--engine epoll|io_uring|auto`
    public var engine: String?
    /// `--pipe-size BYTES`
    public var pipeSize: String?
    /// `--node-user-timeout MS`
    public var nodeUserTimeoutMs: String?
    /// `--node-keepalive SECONDS`
    public var nodeKeepaliveSeconds: String?
    /// `--drain-timeout MS`
    public var drainTimeoutMs: String?
    /// `--unix-mode MODE`
    public var unixMode: String?
    /// `--unix-owner USER[:GROUP]`
    public var unixOwner: String?
    /// `--reload-hard-stop-after MS`
    public var reloadHardStopAfterMs: String?
    /// `--all-down refuse|least-recently-failed`
    public var allDown: String?
    /// `"true"` for `--freebind`.
    public var freebind: String?
    /// `--accept-grace MS`
    public var acceptGraceMs: String?
    /// `--allow SERVICE=ENTRY[,ENTRY...]`, repeatable.
    public var allow: [String]
    /// `--group-check-interval MS`
    public var groupCheckIntervalMs: String?
    /// `--group-policy report|hold-out`
    public var groupPolicy: String?
    /// `--mirror-partyinfo on|off`
    public var mirrorPartyinfo: String?
    /// `--tessera-config FILE`, repeatable: a Tessera node's own config file, one per node.
    public var tesseraConfigs: [String]
    /// `"false"` for `--no-health`.
    public var healthEnabled: String?
    /// `--health-port PORT`
    public var healthPort: String?
    /// `--health-path PATH`
    public var healthPath: String?
    /// `--health-status CODE`
    public var healthStatus: String?
    /// `--health-body TEXT`
    public var healthBody: String?
    /// `--health-interval MS`
    public var healthIntervalMs: String?
    /// `--health-fast-interval MS`
    public var healthFastIntervalMs: String?
    /// `--health-timeout MS`
    public var healthTimeoutMs: String?
    /// `--health-rise N`
    public var healthRise: String?
    /// `--health-fall N`
    public var healthFall: String?
    /// `--health-initial up|down`
    public var healthInitial: String?
    /// `--health-scope node|service`
    public var healthScope: String?
    /// `--on-marked-down shutdown-sessions|keep`
    public var onMarkedDown: String?
    /// `--health-ca FILE`
    public var healthCA: String?
    /// `--health-cert FILE`
    public var healthCert: String?
    /// `--health-key FILE`
    public var healthKey: String?
    /// `--health-server-name NAME`
    public var healthServerName: String?
    /// `"true"` for `--health-insecure`.
    public var healthInsecure: String?

    public init(
        nodes: [String] = [],
        listen: String? = nil,
        services: [String] = [],
        workers: String? = nil,
        balance: String? = nil,
        maxConns: String? = nil,
        connectTimeoutMs: String? = nil,
        idleTimeoutMs: String? = nil,
        maxFails: String? = nil,
        failTimeoutMs: String? = nil,
        forward: String? = nil,
        engine: String? = nil,
        pipeSize: String? = nil,
        nodeUserTimeoutMs: String? = nil,
        nodeKeepaliveSeconds: String? = nil,
        drainTimeoutMs: String? = nil,
        unixMode: String? = nil,
        unixOwner: String? = nil,
        reloadHardStopAfterMs: String? = nil,
        allDown: String? = nil,
        freebind: String? = nil,
        acceptGraceMs: String? = nil,
        allow: [String] = [],
        groupCheckIntervalMs: String? = nil,
        groupPolicy: String? = nil,
        mirrorPartyinfo: String? = nil,
        tesseraConfigs: [String] = [],
        healthEnabled: String? = nil,
        healthPort: String? = nil,
        healthPath: String? = nil,
        healthStatus: String? = nil,
        healthBody: String? = nil,
        healthIntervalMs: String? = nil,
        healthFastIntervalMs: String? = nil,
        healthTimeoutMs: String? = nil,
        healthRise: String? = nil,
        healthFall: String? = nil,
        healthInitial: String? = nil,
        healthScope: String? = nil,
        onMarkedDown: String? = nil,
        healthCA: String? = nil,
        healthCert: String? = nil,
        healthKey: String? = nil,
        healthServerName: String? = nil,
        healthInsecure: String? = nil
    ) {
        self.nodes = nodes
        self.listen = listen
        self.services = services
        self.workers = workers
        self.balance = balance
        self.maxConns = maxConns
        self.connectTimeoutMs = connectTimeoutMs
        self.idleTimeoutMs = idleTimeoutMs
        self.maxFails = maxFails
        self.failTimeoutMs = failTimeoutMs
        self.forward = forward
        self.engine = engine
        self.pipeSize = pipeSize
        self.nodeUserTimeoutMs = nodeUserTimeoutMs
        self.nodeKeepaliveSeconds = nodeKeepaliveSeconds
        self.drainTimeoutMs = drainTimeoutMs
        self.unixMode = unixMode
        self.unixOwner = unixOwner
        self.reloadHardStopAfterMs = reloadHardStopAfterMs
        self.allDown = allDown
        self.freebind = freebind
        self.acceptGraceMs = acceptGraceMs
        self.allow = allow
        self.groupCheckIntervalMs = groupCheckIntervalMs
        self.groupPolicy = groupPolicy
        self.mirrorPartyinfo = mirrorPartyinfo
        self.tesseraConfigs = tesseraConfigs
        self.healthEnabled = healthEnabled
        self.healthPort = healthPort
        self.healthPath = healthPath
        self.healthStatus = healthStatus
        self.healthBody = healthBody
        self.healthIntervalMs = healthIntervalMs
        self.healthFastIntervalMs = healthFastIntervalMs
        self.healthTimeoutMs = healthTimeoutMs
        self.healthRise = healthRise
        self.healthFall = healthFall
        self.healthInitial = healthInitial
        self.healthScope = healthScope
        self.onMarkedDown = onMarkedDown
        self.healthCA = healthCA
        self.healthCert = healthCert
        self.healthKey = healthKey
        self.healthServerName = healthServerName
        self.healthInsecure = healthInsecure
    }
}
