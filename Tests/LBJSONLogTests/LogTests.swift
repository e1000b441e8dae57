import Foundation
import Logging
import Synchronization
import Testing

@testable import LBJSONLog

@Suite("JSON log lines")
struct LogTests {
    final class Lines: Sendable {
        let all = Mutex<[String]>([])
    }

    @Test("one object per line with time, level, label, message and metadata")
    func object() throws {
        let lines = Lines()
        var logger = Logger(label: "tessera-lb") { label in
            JSONLogHandler(label: label, level: .info) { line in lines.all.withLock { $0.append(line) } }
        }
        logger[metadataKey: "engine"] = "epoll"
        logger.debug("not at info")
        logger.warning("node down\n\"quoted\"", metadata: ["node": "n1", "ports": .array(["9000", "9101"])])
        let written = lines.all.withLock { $0 }
        try #require(written.count == 1)
        let line = written[0]
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1, "one line: \(line)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "tessera-lb")
        #expect(object["message"] as? String == "node down\n\"quoted\"")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["node"] as? String == "n1")
        #expect(metadata["engine"] as? String == "epoll")
        #expect(metadata["ports"] as? [String] == ["9000", "9101"])
        let time = try #require(object["time"] as? String)
        #expect(time.count == 24 && time.hasSuffix("Z"), "\(time)")
        #expect(line.hasPrefix("{\"time\":"), "keys in order")
    }

    @Test("control characters are escaped")
    func control() throws {
        #expect(JSONLogHandler.quote("a\u{1}b\tc") == "\"a\\u0001b\\tc\"")
    }
}
