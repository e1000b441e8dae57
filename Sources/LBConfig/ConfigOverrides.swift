/// Settings given on the command line, as the operator typed them: every value is text and is parsed and
/// checked by `ConfigLoader`, so a bad flag gets the same one-line error as a bad file value.
///
/// nil (or an empty array) means the flag was not given.
public struct ConfigOverrides: Sendable, Equatable {
    /// `--node HOST[:name]`, repeatable; when given, replaces the file's node list.
    public var nodes: [String]
    /// `--listen ADDR`
    public var listen: String?
    /// `--service NAME=LISTENPORT[:NODEPORT]`, repeatable; when given, replaces the file's or the default services.
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
    /// `--pipe-size BYTES`
    public var pipeSize: String?

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
        pipeSize: String? = nil
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
        self.pipeSize = pipeSize
    }
}
