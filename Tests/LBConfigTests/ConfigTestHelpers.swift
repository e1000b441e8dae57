import Foundation
import LBConfig

/// A config file at a fresh temporary path, removed when the value goes away.
final class TemporaryConfigFile {
    let path: String

    init(_ contents: String) throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("tessera-lb-\(UUID().uuidString).json").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The one line a configuration is rejected with, or nil when it loads.
func rejection(file: String? = nil, _ overrides: ConfigOverrides) -> String? {
    do {
        _ = try ConfigLoader.load(file: file, overrides: overrides)
        return nil
    } catch {
        return error.description
    }
}

/// The smallest valid flags: one node.
let oneNode = ConfigOverrides(nodes: ["10.0.0.1"])
