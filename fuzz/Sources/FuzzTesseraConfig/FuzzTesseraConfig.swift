import FuzzSupport
import LBConfig

/// The input is a Tessera node's config file (`--tessera-config`), read with an environment for its `${VAR}`
/// templates.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file = FuzzInput.file(data, size)
    FuzzInput.load(
        overrides: ConfigOverrides(tesseraConfigs: [file]),
        environment: ["HOST": "127.0.0.1", "PORT": "9000", "EMPTY": ""])
    return 0
}
