/// Parses HTTP/1.1 requests out of a byte buffer and writes the stand-in's answers.
struct HTTPResponder {
    let node: String
    let service: String
    private let okBody: [UInt8]
    private let upcheck: [UInt8]
    private let upcheckHead: [UInt8]
    private let serverError: [UInt8]

    init(node: String, service: String) {
        self.node = node
        self.service = service
        upcheck = Self.response(status: "200 OK", type: "text/plain", body: Array("I'm up!".utf8))
        upcheckHead = Self.response(status: "200 OK", type: "text/plain", body: Array("I'm up!".utf8), head: true)
        serverError = Self.response(status: "500 Internal Server Error", type: "text/plain", body: Array("failing on purpose".utf8))
        // ~1 KiB of JSON, the size of a Q2T answer; names the node so tests can tell who answered.
        var json = "{\"node\":\"\(node)\",\"service\":\"\(service)\",\"key\":\""
        let pad = String(repeating: "A", count: max(0, 1000 - json.count - 40))
        json += pad + "\",\"managedParties\":[]}"
        okBody = Array(json.utf8)
        _ = okBody
    }

    private static func response(status: String, type: String, body: [UInt8], head: Bool = false, close: Bool = false) -> [UInt8] {
        var text = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\n"
        if close { text += "Connection: close\r\n" }
        text += "\r\n"
        return Array(text.utf8) + (head ? [] : body)
    }

    enum Outcome {
        /// A whole request was consumed (`consumed` bytes); `close` when the client asked for it.
        case answered(consumed: Int, close: Bool)
        /// More bytes are needed.
        case incomplete
        /// Not HTTP: answer 400 and close.
        case malformed
    }

    /// Answers the first complete request in `input`, appending the response to `output`.
    func answer(_ input: ArraySlice<UInt8>, failing: Bool, into output: inout [UInt8]) -> Outcome {
        guard let headerEnd = Self.find(input, [13, 10, 13, 10]) else {
            return input.count > 64 * 1024 ? .malformed : .incomplete
        }
        let header = String(decoding: input[input.startIndex..<headerEnd], as: UTF8.self)
        let lines = header.split(separator: "\r\n", omittingEmptySubsequences: false)
        let requestLine = lines.first?.split(separator: " ") ?? []
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else { return .malformed }
        var contentLength = 0
        var close = requestLine[2] == "HTTP/1.0"
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            if name == "content-length" { contentLength = Int(value) ?? 0 }
            if name == "connection" { close = value.lowercased() == "close" }
        }
        let total = headerEnd - input.startIndex + 4 + contentLength
        guard input.count >= total else { return .incomplete }
        let method = requestLine[0]
        let path = requestLine[1].split(separator: "?").first.map(String.init) ?? ""
        var response: [UInt8]
        if failing {
            response = serverError
        } else if path == "/upcheck" {
            response = method == "HEAD" ? upcheckHead : upcheck
        } else {
            response = Self.response(status: "200 OK", type: "application/json", body: okBody, head: method == "HEAD")
        }
        if close {
            // Say so, as servers do; the connection is closed after this answer.
            if let end = Self.find(response[...], [13, 10, 13, 10]) {
                response.insert(contentsOf: Array("Connection: close\r\n".utf8), at: end + 2)
            }
        }
        output.append(contentsOf: response)
        return .answered(consumed: total, close: close)
    }

    static let badRequest = response(status: "400 Bad Request", type: "text/plain", body: [], close: true)

    private static func find(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = haystack.startIndex
        let last = haystack.endIndex - needle.count
        while i <= last {
            if haystack[i] == needle[0] && haystack[i + 1] == needle[1] && haystack[i + 2] == needle[2] && haystack[i + 3] == needle[3] {
                return i
            }
            i += 1
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
