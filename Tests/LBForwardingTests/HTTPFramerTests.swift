import LBForwarding
import Testing

/// The HTTP/1.x framer of partyinfo mirroring, without sockets: every stream is also fed split at every byte
/// boundary and one byte at a time, and must give the same events at the same offsets.
@Suite("HTTPFramer: requests and answers framed in a stream split anywhere")
struct HTTPFramerTests {
    typealias Event = HTTPFramer.Event

    /// The events, each with the stream offset just after the byte that caused it, feeding `stream` in the
    /// pieces `cuts` makes; nothing after the first `.gaveUp` (the framer is inert then).
    static func events(_ stream: [UInt8], role: HTTPFramer.Role = .request, cuts: [Int] = []) -> [(Int, Event)] {
        var framer = HTTPFramer(role: role)
        var out: [(Int, Event)] = []
        let bounds = [0] + cuts + [stream.count]
        stream.withUnsafeBytes { all in
            for k in 0..<(bounds.count - 1) {
                var at = bounds[k]
                while at < bounds[k + 1] {
                    let (n, event) = framer.scan(UnsafeRawBufferPointer(rebasing: all[at..<bounds[k + 1]]))
                    #expect(n > 0)
                    at += n
                    if event != .nothing { out.append((at, event)) }
                    if event == .gaveUp { return }
                }
            }
        }
        return out
    }

    /// `events` of the whole stream; checks that every two-piece split and the byte-at-a-time feed agree.
    static func framed(_ text: String, role: HTTPFramer.Role = .request) -> [(Int, Event)] {
        framed(Array(text.utf8), role: role)
    }

    static func framed(_ stream: [UInt8], role: HTTPFramer.Role = .request) -> [(Int, Event)] {
        let whole = events(stream, role: role)
        let expected = whole.map { "\($0.0):\($0.1)" }
        // Every cut of a short stream; a long one (the oversized head) at a few places.
        let cuts = stream.count <= 4096 ? Array(0...stream.count) : [0, 1, 17, 4096, 65_000, stream.count - 1]
        for cut in cuts {
            let split = events(stream, role: role, cuts: [cut]).map { "\($0.0):\($0.1)" }
            #expect(split == expected, "split at \(cut)")
        }
        let bytewise = events(stream, role: role, cuts: Array(0...stream.count)).map { "\($0.0):\($0.1)" }
        #expect(bytewise == expected, "one byte at a time")
        return whole
    }

    /// One scan of `bytes`, as `consumed:event`.
    static func scan(_ framer: inout HTTPFramer, _ bytes: [UInt8]) -> String {
        let (n, event) = bytes.withUnsafeBytes { framer.scan($0) }
        return "\(n):\(event)"
    }

    static func describe(_ events: [(Int, Event)]) -> [String] { events.map { "\($0.0):\($0.1)" } }

    static let partyinfoBody = (0..<300).map { UInt8($0 % 251) }

    @Test("a Content-Length request ends after its body; a POST /partyinfo says so after its 16th byte")
    func contentLength() {
        let get = "GET /upcheck HTTP/1.1\r\nHost: tessera\r\n\r\n"
        #expect(Self.describe(Self.framed(get)) == ["\(get.utf8.count):messageEnd"])
        let head = "POST /partyinfo HTTP/1.1\r\nHost: b:9000\r\ncontent-length:   300  \r\nContent-Type: application/octet-stream\r\n\r\n"
        let post = Array(head.utf8) + Self.partyinfoBody
        #expect(Self.describe(Self.framed(post)) == ["16:partyinfo", "\(post.count):messageEnd"])
    }

    @Test("pipelined requests: each ends where it should, only POST /partyinfo is marked, empty lines between are skipped")
    func pipelining() {
        let a = "GET /partyinfo HTTP/1.1\r\nHost: x\r\n\r\n"
        let b = "POST /partyinfo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
        let c = "\r\nPOST /partyinfo/validate HTTP/1.1\r\nContent-Length: 2\r\n\r\nok"
        let d = "POST /partyinfo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        let e = "POST /push HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
        let stream = a + b + c + d + e
        let ends = [a, b, c, d, e].reduce(into: [Int]()) { $0.append(($0.last ?? 0) + $1.utf8.count) }
        #expect(Self.describe(Self.framed(stream)) == [
            "\(ends[0]):messageEnd", "\(ends[0] + 16):partyinfo", "\(ends[1]):messageEnd", "\(ends[2]):messageEnd",
            "\(ends[2] + 16):partyinfo", "\(ends[3]):messageEnd", "\(ends[4]):messageEnd",
        ])
    }

    @Test("chunked bodies with extensions, upper-case sizes, a codings list and trailers")
    func chunked() {
        let stream = "POST /partyinfo HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked \r\n\r\n"
            + "5;name=value;other=\"q\"\r\nhello\r\nA \r\n0123456789\r\n000;last\r\nChecksum: abc\r\nX-More: y\r\n\r\n"
            + "GET / HTTP/1.1\r\n\r\n"
        let first = stream.utf8.count - "GET / HTTP/1.1\r\n\r\n".utf8.count
        #expect(Self.describe(Self.framed(stream)) == ["16:partyinfo", "\(first):messageEnd", "\(stream.utf8.count):messageEnd"])
    }

    @Test("bare LF line ends are taken; an identical repeated Content-Length too")
    func lenient() {
        let stream = "POST /partyinfo HTTP/1.1\nContent-Length: 2\nContent-Length: 2\n\nok"
        #expect(Self.describe(Self.framed(stream)) == ["16:partyinfo", "\(stream.utf8.count):messageEnd"])
    }

    @Test("a large body is skipped, not scanned: it may hold anything, a request line included")
    func opaqueBody() {
        let inner = Array("POST /partyinfo HTTP/1.1\r\nContent-Length: 1\r\n\r\n".utf8)
        let body = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) } + inner
        let stream = Array("POST /push HTTP/1.1\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        #expect(Self.describe(Self.events(stream)) == ["\(stream.count):messageEnd"])
        #expect(Self.describe(Self.events(stream, cuts: [100, 16_484, 100_000])) == ["\(stream.count):messageEnd"])
    }

    /// Streams the framer must give up on, by name (the name is the test argument: the bytes would flood the log).
    static let badStreams: [String: [UInt8]] = [
        "TLS ClientHello": [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03] + Array("POST /partyinfo HTTP/1.1\r\n\r\n".utf8),
        "HTTP/2 preface": Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8),
        "lower-case method": Array("post /partyinfo HTTP/1.1\r\n\r\n".utf8),
        "no version": Array("GET /\r\n\r\n".utf8),
        "HTTP/1.2": Array("GET / HTTP/1.2\r\n\r\n".utf8),
        "obs-fold": Array("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n".utf8),
        "space before the colon": Array("GET / HTTP/1.1\r\nContent-Length : 1\r\n\r\nx".utf8),
        "header without a colon": Array("GET / HTTP/1.1\r\nNoColon\r\n\r\n".utf8),
        "bare CR": Array("GET / HTTP/1.1\rX: y\r\n\r\n".utf8),
        "Content-Length and Transfer-Encoding": Array("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".utf8),
        "two different lengths": Array("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".utf8),
        "a length list": Array("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc".utf8),
        "a signed length": Array("POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc".utf8),
        "a request coding that is not chunked": Array("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n".utf8),
        "an upgrade": Array("GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n".utf8),
        "a chunk size that is not hex": Array("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8),
        "chunk data not followed by CRLF": Array("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n".utf8),
        "a control character in a value": Array("GET / HTTP/1.1\r\nA: b\u{1}c\r\n\r\n".utf8),
        "a head over 64 KiB": Array(("GET / HTTP/1.1\r\n" + String(repeating: "X-Pad: " + String(repeating: "p", count: 1000) + "\r\n", count: 70)).utf8),
    ]

    @Test("what is not HTTP/1.x, or not framed safely, gives up for good", arguments: Array(badStreams.keys).sorted())
    func givesUp(_ name: String) {
        let stream = Self.badStreams[name]!
        let events = Self.framed(stream)
        #expect(events.last?.1 == .gaveUp, "\(name): \(Self.describe(events))")
        #expect(!events.contains { $0.1 == .partyinfo }, "\(name)")
        var framer = HTTPFramer()
        stream.withUnsafeBytes { bytes in
            var at = 0
            while at < bytes.count && framer.isActive { at += framer.scan(UnsafeRawBufferPointer(rebasing: bytes[at...])).consumed }
        }
        #expect(!framer.isActive)
        let more = Array("POST /partyinfo HTTP/1.1\r\n\r\n".utf8)
        #expect(Self.scan(&framer, more) == "\(more.count):gaveUp")
    }

    @Test("only POST /partyinfo exactly is marked")
    func notPartyinfo() {
        for line in ["POST /partyinfo/validate", "POST /partyinfox", "POST /PARTYINFO", "GET /partyinfo", "PUT /partyinfo", "POST  /partyinfo"] {
            let events = Self.events(Array("\(line) HTTP/1.1\r\nContent-Length: 0\r\n\r\n".utf8))
            #expect(!events.contains { $0.1 == .partyinfo }, "\(line)")
        }
    }

    @Test("answers: status, no body for 1xx, 204 and 304, lengths, chunked, to the close; 101 gives up")
    func responses() {
        let interim = "HTTP/1.1 100 Continue\r\n\r\n"
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
        let empty = "HTTP/1.1 204\r\n\r\n"
        let chunked = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
        let stream = interim + ok + empty + chunked
        var ends: [Int] = []
        for part in [interim, ok, empty, chunked] { ends.append((ends.last ?? 0) + part.utf8.count) }
        #expect(Self.describe(Self.framed(stream, role: .response)) == ends.map { "\($0):messageEnd" })

        var framer = HTTPFramer(role: .response)
        let untilClose = Array("HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\nRecipient not found".utf8)
        #expect(Self.scan(&framer, untilClose) == "\(untilClose.count):nothing")
        #expect(framer.endsAtClose && framer.lastStatus == 404)

        #expect(Self.describe(Self.framed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", role: .response)).last?.hasSuffix("gaveUp") == true)
        #expect(Self.describe(Self.framed("HTTP/1.1 20 OK\r\n\r\n", role: .response)).last?.hasSuffix("gaveUp") == true)
    }

    @Test("a framer is a few dozen bytes, and one made inactive never frames")
    func size() {
        #expect(MemoryLayout<HTTPFramer>.size <= 48, "\(MemoryLayout<HTTPFramer>.size)")
        var off = HTTPFramer(active: false)
        #expect(!off.isActive)
        let bytes = Array("POST /partyinfo HTTP/1.1\r\n\r\n".utf8)
        #expect(Self.scan(&off, bytes) == "\(bytes.count):gaveUp")
    }
}
