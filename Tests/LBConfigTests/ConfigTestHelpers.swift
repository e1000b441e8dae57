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

/// Loads with no environment variables, so the tests do not depend on the environment they run in.
func loadIsolated(
    file: String?, overrides: ConfigOverrides, environment: [String: String] = [:]
) throws(ConfigError) -> BalancerConfig {
    try ConfigLoader.load(file: file, overrides: overrides, environment: environment)
}

/// The one line a configuration is rejected with, or nil when it loads.
func rejection(file: String? = nil, environment: [String: String] = [:], _ overrides: ConfigOverrides) -> String? {
    do {
        _ = try ConfigLoader.load(file: file, overrides: overrides, environment: environment)
        return nil
    } catch {
        return error.description
    }
}

/// A file at a fresh temporary path holding `contents` (a stand-in PEM file: only its readability is checked).
func temporaryFile(_ contents: String = "-----BEGIN CERTIFICATE-----\n") throws -> TemporaryConfigFile {
    try TemporaryConfigFile(contents)
}

/// The smallest valid flags: one node.
let oneNode = ConfigOverrides(nodes: ["10.0.0.1"])
