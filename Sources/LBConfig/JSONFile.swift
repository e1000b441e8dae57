internal import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a JSON file whose every failure is one line naming the file: a balancer config file or a Tessera one.
package enum JSONFile {
    /// Reads and parses the file at `path`, which must hold a JSON object. `given` names the file in errors:
    /// the flag or variable that gave it, with the path as its value.
    package static func readObject(_ path: String, given: GivenValue) throws(ConfigError) -> JSONValue {
        let data = Data(try given.check { () throws(ConfigProblem) in try ReadableFile.read(path) })
        if data.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
            throw given.error("the file is empty; it should hold a JSON object")
        }
        let value: JSONValue
        do {
            value = JSONValue(try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed))
        } catch {
            throw given.error("not valid JSON: \(describe(jsonError: error, in: data))")
        }
        guard case .object = value else {
            throw given.error("expected a JSON object at the top level, got \(value.kind)")
        }
        return value
    }

    /// Foundation's parse error, with its byte offset ("around character 15") turned into a line and column.
    private static func describe(jsonError: any Error, in data: Data) -> String {
        let detail = (jsonError as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            ?? jsonError.localizedDescription
        var message = detail.hasSuffix(".") ? String(detail.dropLast()) : detail
        message = message.prefix(1).lowercased() + message.dropFirst()
        guard let marker = message.range(of: " around character "),
              let offset = Int(message[marker.upperBound...]), offset <= data.count
        else { return message }
        let before = data.prefix(offset)
        let line = before.count(where: { $0 == 0x0A }) + 1
        let lineStart = before.lastIndex(of: 0x0A).map { $0 + 1 } ?? before.startIndex
        return "\(message[..<marker.lowerBound]) at line \(line), column \(offset - lineStart + 1)"
    }
}
