import ArgumentParser
import Glibc
import LBConfig

/// `tessera-lb`: a Layer-4 TCP load balancer for highly available Tessera nodes.
struct TesseraLBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera-lb",
        abstract: "A Layer-4 TCP load balancer for highly available Tessera nodes.",
        subcommands: [RunCommand.self, CheckConfigCommand.self, CtlCommand.self, DemoCommand.self, HealthCommand.self, StandInCommand.self]
    )

    /// Exit statuses: 0 done, 1 could not run (a port taken, a host that does not resolve), 2 invalid settings.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as ConfigError {
            fail("tessera-lb: \(error)", status: 2)
        } catch let error as CommandLineError {
            fail("tessera-lb: \(error)", status: 2)
        } catch let error as StartError {
            fail("tessera-lb: \(error.message)", status: 1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            // Argument-parser errors (unknown flag, missing value) are invalid settings too: one line, status 2.
            let line = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            fail("tessera-lb: \(line)", status: 2)
        }
        Glibc.exit(0)
    }

    private static func fail(_ line: String, status: Int32) -> Never {
        var stderr = StandardError()
        print(line, to: &stderr)
        Glibc.exit(status)
    }
}

/// A failure to start that is not a bad setting.
struct StartError: Error {
    let message: String
}

/// Standard error as a `TextOutputStream`.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        let bytes = Array(string.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
