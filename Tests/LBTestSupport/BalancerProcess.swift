import Foundation
import Glibc

/// `tessera-lb` (or any of its subcommands) running as a real process, its output collected; or any other
/// command a test runs beside it (keepalived).
public final class BalancerProcess: @unchecked Sendable {
    public let process = Process()
    private let output = Pipe()
    private let collected = Collected()

    /// Starts `tessera-lb arguments...`, optionally through a wrapper command (such as setpriv).
    public convenience init(_ arguments: [String], wrapper: [String] = []) throws {
        try self.init(command: wrapper + [tesseraLBExecutable().path] + arguments)
    }

    /// Starts `command[0] command[1...]`.
    public init(command: [String]) throws {
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [collected] handle in
            collected.append(handle.availableData)
        }
        try process.run()
    }

    /// Everything the process has printed so far (stdout and stderr).
    public var log: String {
        collected.text
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Descriptors the process has open, from /proc/PID/fd.
    public var openDescriptors: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// The process's resident memory in bytes (VmRSS in /proc/PID/status); -1 when unreadable.
    public var residentBytes: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return -1 }
        return kib * 1024
    }

    /// The open descriptors once they stop changing (two readings 100 ms apart agree), or the last reading after
    /// `seconds`: what the process holds at rest, its start-up done.
    public func settledDescriptors(within seconds: Double = 5) -> Int {
        var last = openDescriptors
        _ = eventually(within: seconds, every: 100) {
            let now = openDescriptors
            defer { last = now }
            return now == last && now > 0
        }
        return last
    }

    /// Waits until `port` on `host` accepts connections (the process is listening), or `seconds` pass.
    public func waitUntilListening(host: String = "127.0.0.1", port: Int, seconds: Double = 10) -> Bool {
        eventually(within: seconds, every: 20) { (try? TestSocket(host: host, port: port, timeout: 1)) != nil || !isRunning }
            && isRunning
    }

    /// Sends `signal` and waits up to `seconds` for the exit; returns the exit status (nil if still running).
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, seconds: Double = 10) -> Int32? {
        if process.isRunning { kill(pid, signal) }
        _ = eventually(within: seconds) { !process.isRunning }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        output.fileHandleForReading.readabilityHandler = nil
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it, close).
public func freePort(host: String = "127.0.0.1") -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { Glibc.close(fd) }
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    inet_pton(AF_INET, host, &sin.sin_addr)
    _ = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: sin.sin_port))
}

/// Output gathered from a reader thread.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) { lock.withLock { data.append(more) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
