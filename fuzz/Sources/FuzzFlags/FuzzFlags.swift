import FuzzSupport
import LBConfig

/// The input is command-line flags, one `--flag=value` per line: the address and service parsers behind
/// `--node`, `--service`, `--allow` and `--listen` (NodeSyntax, ServiceSyntax, AllowSyntax), and the settings
/// whose values are addresses, owners, paths or bodies. Other lines are skipped.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var flags = ConfigOverrides()
    for line in FuzzInput.text(data, size).split(separator: "\n", omittingEmptySubsequences: true) {
        guard let equals = line.firstIndex(of: "=") else { continue }
        let value = String(line[line.index(after: equals)...])
        switch line[..<equals] {
        case "--node": flags.nodes.append(value)
        case "--service": flags.services.append(value)
        case "--allow": flags.allow.append(value)
        case "--listen": flags.listen = value
        case "--max-conns": flags.maxConns = value
        case "--workers": flags.workers = value
        case "--unix-mode": flags.unixMode = value
        case "--unix-owner": flags.unixOwner = value
        case "--health-port": flags.healthPort = value
        case "--health-path": flags.healthPath = value
        case "--health-status": flags.healthStatus = value
        case "--health-body": flags.healthBody = value
        case "--health-server-name": flags.healthServerName = value
        case "--balance": flags.balance = value
        default: continue
        }
    }
    FuzzInput.load(overrides: flags)
    return 0
}
