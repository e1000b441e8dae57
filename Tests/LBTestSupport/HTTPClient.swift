import Foundation

/// The smallest HTTP/1.1 client that a test needs: one request, one response read by Content-Length.
public struct HTTPExchange {
    public let status: Int
    public let headers: [String: String]
    public let body: String

    /// Sends `GET path` on `socket` (kept alive unless `close`) and reads one response.
    public static func get(_ path: String, on socket: TestSocket, host: String = "tessera", close: Bool = false) throws -> HTTPExchange {
        try socket.send("GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\(close ? "Connection: close\r\n" : "")\r\n")
        return try read(from: socket)
    }

    /// Sends `POST path` with `body` on `socket` (kept alive unless `close`) and reads one response.
    public static func post(
        _ path: String, body: [UInt8], contentType: String = "application/json", on socket: TestSocket, host: String = "tessera",
        close: Bool = false
    ) throws -> HTTPExchange {
        let head = "POST \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
            + (close ? "Connection: close\r\n" : "") + "\r\n"
        try socket.send(Array(head.utf8) + body)
        return try read(from: socket)
    }

    /// Reads one response.
    public static func read(from socket: TestSocket) throws -> HTTPExchange {
        var buffer: [UInt8] = []
        var headerEnd: Int? = nil
        while headerEnd == nil {
            let chunk = try socket.receive()
            if chunk.isEmpty { throw TestSocket.Failure(description: "end of stream before headers (\(buffer.count) bytes)") }
            buffer += chunk
            headerEnd = find(buffer, [13, 10, 13, 10])
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = Array(buffer[(headerEnd! + 4)...])
        if body.count < length { body += try socket.receive(exactly: length - body.count) }
        return HTTPExchange(status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
    }

    /// The `node` field of a stand-in's JSON answer: who answered.
    public var node: String? {
        guard let range = body.range(of: "\"node\":\"") else { return nil }
        let rest = body[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    private static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }
}
