import FuzzSupport

/// The input is a `--config` file (JSON).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzInput.load(file: FuzzInput.file(data, size))
    return 0
}
