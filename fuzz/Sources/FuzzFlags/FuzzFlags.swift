import FuzzSupport
import LBConfig

/// The input is a command line, one argument per line (`--flag=value`, or `--flag` and its value on the next
/// line): the settings' flag reader (`ConfigOverrides(arguments:)`, by the settings table), then the address and
/// service parsers behind `--node`, `--service`, `--allow` and `--listen` (NodeSyntax, ServiceSyntax,
/// AllowSyntax) and every setting's own check, as `run` applies them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let arguments = FuzzInput.text(data, size).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    // A command line that does not parse is refused with its one-line error before any setting is looked at.
    guard let flags = try? ConfigOverrides(arguments: arguments) else { return 0 }
    FuzzInput.load(overrides: flags)
    return 0
}
