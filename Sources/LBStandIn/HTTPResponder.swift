/// Parses HTTP/1.1 requests out of a byte buffer and writes the stand-in's answers.
struct HTTPResponder {
    let node: String
    let service: String
    /// The node's keys, version and partyinfo, for the few requests about the group (TesseraModel).
    let model: TesseraModel
    private let okBody: [UInt8]
    private let upcheck: [UInt8]
    private let upcheckHead: [UInt8]
    private let serverError: [UInt8]
    private let serverErrorBody: Int
    private let databaseUnavailable = Self.response(status: "200 OK", type: "text/plain", body: Array("Database unavailable".utf8))
    private let ok: [UInt8]
    private let okHead: [UInt8]

    init(node: String, service: String, model: TesseraModel) {
        self.node = node
        self.service = service
        self.model = model
        upcheck = Self.response(status: "200 OK", type: "text/plain", body: Array("I'm up!".utf8))
        upcheckHead = Self.response(status: "200 OK", type: "text/plain", body: Array("I'm up!".utf8), head: true)
        let failure = Array("failing on purpose".utf8)
        serverError = Self.response(status: "500 Internal Server Error", type: "text/plain", body: failure)
        serverErrorBody = failure.count
        // ~1 KiB of JSON, the size of a Q2T answer; names the node so tests can tell who answered.
        var json = "{\"node\":\"\(node)\",\"service\":\"\(service)\",\"key\":\""
        let pad = String(repeating: "A", count: max(0, 1000 - json.count - 40))
        json += pad + "\",\"managedParties\":[]}"
        okBody = Array(json.utf8)
        ok = Self.response(status: "200 OK", type: "application/json", body: okBody)
        okHead = Self.response(status: "200 OK", type: "application/json", body: okBody, head: true)
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
    ///
    /// Byte-level parsing, no strings: the stand-in must never be the bottleneck of a benchmark.
    func answer(_ input: UnsafeRawBufferPointer, mode: StandInMode, into output: inout [UInt8]) -> Outcome {
        let failing = mode == .fail
        let bytes = input.bindMemory(to: UInt8.self)
        guard let headerEnd = Self.headerEnd(bytes) else {
            return bytes.count > 64 * 1024 ? .malformed : .incomplete
        }
        // Request line: METHOD SP PATH SP HTTP/1.x CRLF
        guard let sp1 = Self.index(of: 32, in: bytes, from: 0, to: headerEnd),
            let sp2 = Self.index(of: 32, in: bytes, from: sp1 + 1, to: headerEnd),
            let lineEnd = Self.index(of: 13, in: bytes, from: sp2, to: headerEnd + 1),
            lineEnd - sp2 - 1 == 8, bytes[sp2 + 1] == 72, bytes[sp2 + 6] == 49  // "HTTP/1."
        else { return .malformed }
        var close = bytes[sp2 + 8] == 48  // HTTP/1.0
        var contentLength = 0
        var chunked = false
        var line = lineEnd + 2
        while line < headerEnd {
            let next = Self.index(of: 13, in: bytes, from: line, to: headerEnd + 1) ?? headerEnd
            if Self.hasPrefix(bytes, line, next, "content-length:") {
                contentLength = Self.integer(bytes, line + 15, next)
            } else if Self.hasPrefix(bytes, line, next, "transfer-encoding:") {
                chunked = Self.contains(bytes, line + 18, next, "chunked")
            } else if Self.hasPrefix(bytes, line, next, "connection:") {
                var v = line + 11
                while v < next && bytes[v] == 32 { v += 1 }
                close = Self.hasPrefix(bytes, v, next, "close")
            }
            line = next + 2
        }
        var total = headerEnd + 4 + contentLength
        // A chunked body (partyinfo mirroring is tested with one) is decoded into `decoded`.
        var decoded: [UInt8]? = nil
        if chunked {
            switch Self.dechunk(bytes, from: headerEnd + 4) {
            case .incomplete: return .incomplete
            case .malformed: return .malformed
            case .whole(let body, let end):
                decoded = body
                total = end
            }
        }
        guard bytes.count >= total else { return .incomplete }
        let isHead = sp1 == 4 && bytes[0] == 72  // HEAD
        if !failing && mode != .wrongbody && Self.asksTheModel(bytes, sp1: sp1, sp2: sp2) {
            let method = String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<sp1]), as: UTF8.self)
            let path = String(decoding: UnsafeBufferPointer(rebasing: bytes[(sp1 + 1)..<sp2]), as: UTF8.self)
            let answer = decoded.map { decoded in
                decoded.withUnsafeBytes { model.answer(method: method, path: path, body: $0, service: service) }
            } ?? model.answer(method: method, path: path, body: UnsafeRawBufferPointer(rebasing: input[(headerEnd + 4)..<total]), service: service)
            if let answer {
                output.append(contentsOf: Self.response(status: answer.status, type: answer.type, body: answer.body, close: close))
                return .answered(consumed: total, close: close)
            }
        }
        let isUpcheck = Self.hasPrefix(bytes, sp1 + 1, sp2, "/upcheck")
            && (sp2 == sp1 + 9 || bytes[sp1 + 9] == 63)  // exactly /upcheck, or /upcheck?...
        if !failing && mode != .wrongbody && Self.hasPrefix(bytes, sp1 + 1, sp2, "/bytes/") {
            // GET /bytes/N: N bytes of body (0 to 16 MiB), for transfer-size benchmarks of the download direction.
            let n = Self.integer(bytes, sp1 + 8, sp2)
            guard n <= Self.bulk.count else { return .malformed }
            var head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: \(n)\r\n"
            if close { head += "Connection: close\r\n" }
            output.append(contentsOf: Array((head + "\r\n").utf8))
            if !isHead { output.append(contentsOf: Self.bulk[0..<n]) }
            return .answered(consumed: total, close: close)
        }
        let response: [UInt8]
        if failing {
            response = serverError
        } else if mode == .wrongbody {
            response = databaseUnavailable
        } else if isUpcheck {
            response = isHead ? upcheckHead : upcheck
        } else {
            response = isHead ? okHead : ok
        }
        if close {
            // Say so, as servers do; the connection is closed after this answer.
            let bodyBytes = failing ? serverErrorBody : mode == .wrongbody ? 20 : isHead ? 0 : isUpcheck ? 7 : okBody.count
            let split = response.count - bodyBytes - 2
            output.append(contentsOf: response[0..<split])
            output.append(contentsOf: Self.connectionClose)
            output.append(contentsOf: response[split...])
        } else {
            output.append(contentsOf: response)
        }
        return .answered(consumed: total, close: close)
    }

    /// Whether the request may be one TesseraModel answers: a POST, or a path under /partyinfo, /keys or
    /// /version. Checked on the bytes, so the usual GETs cost no string.
    private static func asksTheModel(_ b: UnsafeBufferPointer<UInt8>, sp1: Int, sp2: Int) -> Bool {
        (sp1 == 4 && b[0] == 80 && b[1] == 79)  // POST
            || hasPrefix(b, sp1 + 1, sp2, "/partyinfo") || hasPrefix(b, sp1 + 1, sp2, "/keys")
            || hasPrefix(b, sp1 + 1, sp2, "/version")
    }

    /// The body of every /bytes/N answer, made once per process on first use.
    private static let bulk = [UInt8](repeating: 0x61, count: 16 << 20)

    private static let connectionClose = Array("Connection: close\r\n".utf8)

    private static func headerEnd(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        guard b.count >= 4 else { return nil }
        var i = 0
        let last = b.count - 4
        while i <= last {
            if b[i + 3] != 10 {
                i += b[i + 3] == 13 ? 1 : 4
                continue
            }
            if b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 { return i }
            i += 1
        }
        return nil
    }

    private static func index(of byte: UInt8, in b: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        var i = from
        while i < to {
            if b[i] == byte { return i }
            i += 1
        }
        return nil
    }

    /// Case-insensitive prefix test against a lowercase ASCII literal.
    private static func hasPrefix(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard to - from >= n else { return false }
        let p = literal.utf8Start
        for k in 0..<n where b[from + k] | 0x20 != p[k] && b[from + k] != p[k] { return false }
        return true
    }

    private enum Dechunked {
        case incomplete
        case malformed
        /// The body, and where the message ends (after the trailers).
        case whole([UInt8], end: Int)
    }

    /// Decodes a chunked body starting at `from`: hex size, extensions, CRLF, data, CRLF; a 0 chunk, trailers,
    /// an empty line.
    private static func dechunk(_ b: UnsafeBufferPointer<UInt8>, from: Int) -> Dechunked {
        var body: [UInt8] = []
        var at = from
        while true {
            guard let lineEnd = index(of: 13, in: b, from: at, to: b.count) else { return .incomplete }
            var size = 0
            var k = at
            while k < lineEnd, let digit = hexDigit(b[k]) {
                size = size * 16 + digit
                k += 1
                if size > 1 << 26 { return .malformed }
            }
            if k == at { return .malformed }
            at = lineEnd + 2
            if size == 0 { break }
            guard b.count >= at + size + 2 else { return .incomplete }
            body.append(contentsOf: b[at..<(at + size)])
            at += size + 2
        }
        // Trailers, then the empty line.
        while true {
            guard let lineEnd = index(of: 13, in: b, from: at, to: b.count), lineEnd + 1 < b.count else { return .incomplete }
            let empty = lineEnd == at
            at = lineEnd + 2
            if empty { return .whole(body, end: at) }
        }
    }

    private static func hexDigit(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: Int(c - 48)
        case 65...70: Int(c - 55)
        case 97...102: Int(c - 87)
        default: nil
        }
    }

    /// Whether `[from, to)` contains a lowercase ASCII literal, case-insensitively.
    private static func contains(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, _ literal: StaticString) -> Bool {
        var at = from
        while at < to {
            if hasPrefix(b, at, to, literal) { return true }
            at += 1
        }
        return false
    }

    private static func integer(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int {
        var value = 0
        for k in from..<to where b[k] >= 48 && b[k] <= 57 { value = value * 10 + Int(b[k] - 48) }
        return value
    }

    static let badRequest = response(status: "400 Bad Request", type: "text/plain", body: [], close: true)
}
