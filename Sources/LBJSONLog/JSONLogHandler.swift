import Foundation
import Glibc
import LBConfig
public import Logging

/// swift-log lines as JSON, one object per line on standard output, for log collectors:
/// `{"time":"2025-01-31T12:00:00.123Z","level":"info","label":"tessera-lb","message":"...","metadata":{...}}`.
/// Keys come in that order; metadata keys sorted; `metadata` is left out when empty.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let write: @Sendable (String) -> Void

    /// - Parameter write: where each line goes (standard output unless a test says otherwise).
    public init(
        label: String, level: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil,
        write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardOutput
    ) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        var line = "{\"time\":\(Self.quote(Self.timestamp(Date()))),\"level\":\(Self.quote(event.level.rawValue))"
        line += ",\"label\":\(Self.quote(label)),\"message\":\(Self.quote(event.message.description))"
        if !merged.isEmpty { line += ",\"metadata\":" + Self.encode(.dictionary(merged)) }
        write(line + "}\n")
    }

    /// Writes the whole line with one write(2) where it fits, so lines from different threads do not interleave.
    public static let standardOutput: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    // MARK: - JSON

    static func encode(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): quote(text)
        case .stringConvertible(let value): quote(value.description)
        case .array(let values): "[" + values.map(encode).joined(separator: ",") + "]"
        case .dictionary(let fields):
            "{" + fields.sorted { $0.key < $1.key }.map { "\(quote($0.key)):\(encode($0.value))" }.joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal: the one the config writer makes.
    static func quote(_ text: String) -> String { ConfigWriter.quoted(text) }

    /// UTC, milliseconds: `2025-01-31T12:00:00.123Z`.
    static func timestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var t = time_t(seconds.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        let millis = Int((seconds - seconds.rounded(.down)) * 1000)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
            parts.tm_min, parts.tm_sec, millis
        )
    }
}
