/// Finds where HTTP/1.x messages begin and end in a byte stream as it passes, holding none of it: a fixed-size
/// state, fed the stream in chunks of any size (split anywhere), that reports the events the partyinfo mirror
/// needs. Requests: Content-Length and chunked bodies (extensions, trailers), pipelining, leading empty lines.
/// Responses (the mirror reads its copies' answers): the status, no body for 1xx, 204 and 304, and a body
/// delimited by the close when neither length is given.
///
/// Anything it does not understand makes it give up for good (`.gaveUp`): a stream that does not start like
/// HTTP/1.x (TLS starts with 0x16), HTTP/2's preface, an obs-fold, a header section over `maxHeadBytes`, both
/// Content-Length and Transfer-Encoding, conflicting lengths, a request Transfer-Encoding that is not chunked, an
/// `Upgrade` request or a 101 answer. The caller then treats the rest of the connection as opaque bytes.
public struct HTTPFramer: Sendable {
    public enum Role: UInt8, Sendable {
        case request
        case response
    }

    public enum Event: Equatable, Sendable {
        /// Every byte given was consumed; nothing of note.
        case nothing
        /// The request line began with `POST /partyinfo ` (`partyinfoPrefix`), its last byte the one just consumed.
        case partyinfo
        /// The last byte of a message was consumed.
        case messageEnd
        /// Not HTTP/1.x as this framer understands it; from now on every call answers `.gaveUp`.
        case gaveUp
    }

    /// The bytes that start a request to mirror.
    public static let partyinfoPrefix: [UInt8] = Array("POST /partyinfo ".utf8)
    /// The request or status line and the headers together, and the trailers, at most.
    public static var maxHeadBytes: UInt32 { 64 * 1024 }
    /// A chunk-size line with its extensions, at most.
    public static var maxChunkLineBytes: UInt32 { 4096 }

    private enum State: UInt8 {
        case off, startLine, headerLineStart, headerName, headerValue, body, chunkSize, chunkExtension, chunkData,
            chunkDataEnd, trailerLineStart, trailerLine, untilClose
    }

    /// The header names that matter, as bits of `candidates`.
    private static let contentLength: UInt8 = 1
    private static let transferEncoding: UInt8 = 2
    private static let upgrade: UInt8 = 4
    private static let names: [(bit: UInt8, name: [UInt8])] = [
        (contentLength, Array("content-length".utf8)), (transferEncoding, Array("transfer-encoding".utf8)),
        (upgrade, Array("upgrade".utf8)),
    ]
    private static let chunked: [UInt8] = Array("chunked".utf8)
    private static let httpSlashOne: [UInt8] = Array("HTTP/1.".utf8)

    // Flags (`flags`).
    private static let pendingCR: UInt16 = 1
    private static let matchingPrefix: UInt16 = 2
    private static let sawLength: UInt16 = 4
    private static let sawEncoding: UInt16 = 8
    private static let isChunked: UInt16 = 16
    private static let valueEnded: UInt16 = 32  // whitespace after a Content-Length's digits, or a coding's token

    private var state: State
    private let role: Role
    private var flags: UInt16 = 0
    /// Start line: which part (method/target/version, or version/status/reason) and its length so far (saturating).
    private var part: UInt8 = 0
    private var partLength: UInt8 = 0
    /// Header line: the names still matching, the name's length (saturating), which header the value belongs to;
    /// Transfer-Encoding: how much of `chunked` the value's last token matched (255: another token).
    private var candidates: UInt8 = 0
    private var nameLength: UInt8 = 0
    private var header: UInt8 = 0
    private var tokenMatch: UInt8 = 0
    private var digits: UInt8 = 0
    private var status: UInt16 = 0
    /// Bytes of the current line, and of the head (or trailers) so far.
    private var column: UInt32 = 0
    private var headBytes: UInt32 = 0
    /// Body bytes (or chunk bytes) still to come; while reading the head, the Content-Length seen.
    private var remaining: UInt64 = 0
    /// A number being read: a Content-Length value, a chunk size.
    private var value: UInt64 = 0

    /// A framer at the start of a stream; `active` false gives one that has given up already (for connections
    /// that are not to be framed).
    public init(role: Role = .request, active: Bool = true) {
        self.role = role
        state = active ? .startLine : .off
    }

    /// Whether it still follows the stream (has not given up).
    @inline(__always) public var isActive: Bool { state != .off }

    /// A response whose body runs to the close: the stream's end completes it.
    public var endsAtClose: Bool { state == .untilClose }

    /// The status of the response being read or last read (response role).
    public var lastStatus: Int { Int(status) }

    /// Consumes bytes from the start of `bytes` up to the first event, or all of them. Returns how many it
    /// consumed and the event that stopped it (`.nothing` when it consumed them all without one).
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, event: Event) {
        let n = bytes.count
        var i = 0
        while i < n {
            switch state {
            case .off:
                return (n, .gaveUp)
            case .untilClose:
                return (n, .nothing)
            case .body, .chunkData:
                let take = min(UInt64(n - i), remaining)
                i += Int(take)
                remaining -= take
                if remaining == 0 {
                    if state == .chunkData {
                        state = .chunkDataEnd
                    } else {
                        startMessage()
                        return (i, .messageEnd)
                    }
                }
            default:
                let byte = bytes[i]
                i += 1
                let event = step(byte)
                if event != .nothing { return (i, event) }
            }
        }
        return (n, .nothing)
    }

    // MARK: - One byte of a line

    private mutating func step(_ b: UInt8) -> Event {
        if flags & Self.pendingCR != 0 {
            guard b == 10 else { return giveUp() }
            flags &= ~Self.pendingCR
            return endOfLine()
        }
        if b == 13 {
            flags |= Self.pendingCR
            return count() ? .nothing : giveUp()
        }
        if b == 10 { return endOfLine() }
        guard count() else { return giveUp() }
        column &+= 1
        switch state {
        case .startLine:
            return role == .request ? requestLine(b) : statusLine(b)
        case .headerLineStart, .trailerLineStart:
            // obs-fold, or a name that is empty: refused, as RFC 9112 says a recipient may.
            guard Self.isTokenCharacter(b) else { return giveUp() }
            if state == .trailerLineStart {
                state = .trailerLine
                return .nothing
            }
            state = .headerName
            candidates = Self.contentLength | Self.transferEncoding | Self.upgrade
            nameLength = 0
            return headerName(b)
        case .headerName:
            if b == 58 {  // ':'
                header = 0
                for (bit, name) in Self.names where candidates & bit != 0 && Int(nameLength) == name.count { header = bit }
                state = .headerValue
                value = 0
                digits = 0
                tokenMatch = 0
                flags &= ~Self.valueEnded
                return .nothing
            }
            guard Self.isTokenCharacter(b) else { return giveUp() }
            return headerName(b)
        case .headerValue:
            return headerValue(b)
        case .trailerLine:
            return b < 32 && b != 9 || b == 127 ? giveUp() : .nothing
        case .chunkSize:
            if let digit = Self.hexValue(b) {
                guard digits < 15 else { return giveUp() }
                digits += 1
                value = value << 4 | UInt64(digit)
                return .nothing
            }
            guard digits > 0, b == 59 || b == 32 || b == 9 else { return giveUp() }  // ';' or BWS
            state = .chunkExtension
            return .nothing
        case .chunkExtension:
            return b < 32 && b != 9 || b == 127 ? giveUp() : .nothing
        case .chunkDataEnd:
            return giveUp()  // a chunk's data is followed by CRLF, nothing else
        default:
            return giveUp()
        }
    }

    /// Counts one byte of a line against the limits.
    @inline(__always)
    private mutating func count() -> Bool {
        switch state {
        case .chunkSize, .chunkExtension, .chunkDataEnd:
            return column < Self.maxChunkLineBytes
        default:
            headBytes &+= 1
            return headBytes <= Self.maxHeadBytes
        }
    }

    /// METHOD SP TARGET SP HTTP/1.x
    private mutating func requestLine(_ b: UInt8) -> Event {
        if column == 1 { flags |= Self.matchingPrefix }
        switch part {
        case 0:
            if b == 32 && partLength > 0 {
                part = 1
                partLength = 0
            } else if b >= 65 && b <= 90 && partLength < 20 {  // methods are upper-case letters
                partLength += 1
            } else {
                return giveUp()
            }
        case 1:
            if b == 32 && partLength > 0 {
                part = 2
                partLength = 0
            } else if b > 32 && b != 127 {
                partLength = partLength == 255 ? 255 : partLength + 1
            } else {
                return giveUp()
            }
        default:
            guard version(b) else { return giveUp() }
        }
        if flags & Self.matchingPrefix != 0 {
            let k = Int(column) - 1
            if Self.partyinfoPrefix[k] != b {
                flags &= ~Self.matchingPrefix
            } else if k == Self.partyinfoPrefix.count - 1 {
                flags &= ~Self.matchingPrefix
                return .partyinfo
            }
        }
        return .nothing
    }

    /// HTTP/1.x SP 3DIGIT [SP reason]
    private mutating func statusLine(_ b: UInt8) -> Event {
        switch part {
        case 0:
            if partLength == 8 && b == 32 {
                part = 1
                partLength = 0
                status = 0
            } else if !version(b) {
                return giveUp()
            }
        case 1:
            if partLength == 3 && b == 32 {
                part = 2
            } else if partLength < 3 && b >= 48 && b <= 57 {
                status = status * 10 + UInt16(b - 48)
                partLength += 1
            } else {
                return giveUp()
            }
        default:
            if b < 32 && b != 9 || b == 127 { return giveUp() }
        }
        return .nothing
    }

    /// One byte of `HTTP/1.0` or `HTTP/1.1`, counted in `partLength`.
    private mutating func version(_ b: UInt8) -> Bool {
        let k = Int(partLength)
        if k < 7 {
            guard b == Self.httpSlashOne[k] else { return false }
        } else if k == 7 {
            guard b == 48 || b == 49 else { return false }
        } else {
            return false
        }
        partLength += 1
        return true
    }

    private mutating func headerName(_ b: UInt8) -> Event {
        let lower = b >= 65 && b <= 90 ? b | 0x20 : b
        let k = Int(nameLength)
        for (bit, name) in Self.names where candidates & bit != 0 && (k >= name.count || name[k] != lower) {
            candidates &= ~bit
        }
        nameLength = nameLength == 255 ? 255 : nameLength + 1
        return .nothing
    }

    private mutating func headerValue(_ b: UInt8) -> Event {
        if b < 32 && b != 9 || b == 127 { return giveUp() }
        let space = b == 32 || b == 9
        switch header {
        case Self.contentLength:
            if space {
                if digits > 0 { flags |= Self.valueEnded }
            } else if b >= 48 && b <= 57 && flags & Self.valueEnded == 0 && digits < 18 {
                digits += 1
                value = value * 10 + UInt64(b - 48)
            } else {
                return giveUp()  // a list, a sign, a second number: not a length this framer trusts
            }
        case Self.transferEncoding:
            // Only whether the last coding is `chunked` matters.
            if b == 44 {  // ','
                tokenMatch = 0
                flags &= ~Self.valueEnded
            } else if space {
                if tokenMatch != 0 { flags |= Self.valueEnded }
            } else if flags & Self.valueEnded != 0 {
                tokenMatch = 255
            } else if tokenMatch < UInt8(Self.chunked.count) && Self.chunked[Int(tokenMatch)] == (b >= 65 && b <= 90 ? b | 0x20 : b) {
                tokenMatch += 1
            } else {
                tokenMatch = 255
            }
        default:
            break
        }
        return .nothing
    }

    // MARK: - Ends of lines

    private mutating func endOfLine() -> Event {
        defer { column = 0 }
        switch state {
        case .startLine:
            if column == 0 { return .nothing }  // an empty line before a message: skipped
            guard part == 2 || (role == .response && part == 1 && partLength == 3) else { return giveUp() }
            if role == .request && partLength != 8 { return giveUp() }
            state = .headerLineStart
        case .headerLineStart:
            return endOfHead()
        case .headerName:
            return giveUp()  // a header line without a colon
        case .headerValue:
            switch header {
            case Self.contentLength:
                guard digits > 0 else { return giveUp() }
                if flags & Self.sawLength != 0 && remaining != value { return giveUp() }
                flags |= Self.sawLength
                remaining = value
            case Self.transferEncoding:
                flags |= Self.sawEncoding
                if tokenMatch == UInt8(Self.chunked.count) { flags |= Self.isChunked } else { flags &= ~Self.isChunked }
            case Self.upgrade:
                if role == .request { return giveUp() }  // what follows may be another protocol
            default:
                break
            }
            state = .headerLineStart
        case .chunkSize:
            guard digits > 0 else { return giveUp() }
            return endOfChunkLine()
        case .chunkExtension:
            return endOfChunkLine()
        case .chunkDataEnd:
            guard column == 0 else { return giveUp() }
            state = .chunkSize
            value = 0
            digits = 0
        case .trailerLineStart:
            startMessage()
            return .messageEnd
        case .trailerLine:
            state = .trailerLineStart
        default:
            return giveUp()
        }
        return .nothing
    }

    private mutating func endOfHead() -> Event {
        let length = flags & Self.sawLength != 0
        let encoded = flags & Self.sawEncoding != 0
        if length && encoded { return giveUp() }
        if role == .response {
            if status == 101 { return giveUp() }
            if status < 200 || status == 204 || status == 304 {
                startMessage()
                return .messageEnd
            }
            if encoded {
                if flags & Self.isChunked != 0 { startChunk() } else { state = .untilClose }
                return .nothing
            }
            if !length {
                state = .untilClose
                return .nothing
            }
        } else if encoded {
            guard flags & Self.isChunked != 0 else { return giveUp() }
            startChunk()
            return .nothing
        }
        if length && remaining > 0 {
            state = .body
            return .nothing
        }
        startMessage()
        return .messageEnd
    }

    private mutating func endOfChunkLine() -> Event {
        if value == 0 {
            state = .trailerLineStart
            headBytes = 0
        } else {
            state = .chunkData
            remaining = value
        }
        return .nothing
    }

    private mutating func startChunk() {
        state = .chunkSize
        value = 0
        digits = 0
    }

    /// Ready for the next message; a response's status stays readable.
    private mutating func startMessage() {
        let kept = status
        self = HTTPFramer(role: role)
        status = kept
    }

    private mutating func giveUp() -> Event {
        state = .off
        return .gaveUp
    }

    // MARK: - Characters

    /// RFC 9110 tchar.
    @inline(__always)
    private static func isTokenCharacter(_ b: UInt8) -> Bool {
        switch b {
        case 48...57, 65...90, 97...122: true
        case 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 94, 95, 96, 124, 126: true
        default: false
        }
    }

    @inline(__always)
    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 65...70: b - 55
        case 97...102: b - 87
        default: nil
        }
    }
}
