public import LBConfig
import LBTessera
import Foundation

/// What every target does with one input: load a configuration from it the way `check-config` would, and
/// accept either a config or a `ConfigError`. Anything else (a trap, a hang, a sanitizer report) is a finding.
public enum FuzzInput {
    /// The input as text: the loaders read UTF-8, and invalid bytes are part of what they must reject.
    public static func text(_ data: UnsafePointer<UInt8>, _ size: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    }

    /// The input as a file's bytes, written once per input to a file of this process's own.
    public static func file(_ data: UnsafePointer<UInt8>, _ size: Int) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-lb-fuzz-\(getpid())").path
        precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)))
        return path
    }

    /// Loads like `check-config`; a `ConfigError` is a correct answer to bad input.
    public static func load(
        file: String? = nil, overrides: ConfigOverrides = ConfigOverrides(), environment: [String: String] = [:]
    ) {
        do {
            let config = try ConfigLoader.load(
                file: file, overrides: overrides, environment: environment, importer: TesseraConfigImporter())
            _ = ConfigWriter.json(config)
        } catch {
            // The error must still render as one line (the CLI prints it).
            precondition(!String(describing: error).contains("\n"), "multi-line error: \(error)")
        }
    }
}
