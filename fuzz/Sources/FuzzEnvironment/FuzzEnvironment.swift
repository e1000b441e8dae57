import FuzzSupport

/// The input is the environment: one `NAME=VALUE` per line (lines without `=` are skipped). The variables that
/// name files (TESSERA_LB_CONFIG, TESSERA_LB_TESSERA_CONFIGS) are dropped: the other targets fuzz the files,
/// and a fuzzed path could name anything on this machine.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var environment: [String: String] = [:]
    for line in FuzzInput.text(data, size).split(separator: "\n", omittingEmptySubsequences: true) {
        guard let equals = line.firstIndex(of: "=") else { continue }
        let name = String(line[..<equals])
        guard name != "TESSERA_LB_CONFIG", name != "TESSERA_LB_TESSERA_CONFIGS" else { continue }
        environment[name] = String(line[line.index(after: equals)...])
    }
    FuzzInput.load(environment: environment)
    return 0
}
