@testable import LBHealth
import NIOCore
import NIOHTTP1
import Testing

/// How the probe names what went wrong, from the errors the HTTP client hands it, without sockets (the
/// network-fault integration tests reach the same errors through real servers).
@Suite("probe failure reasons")
struct ProbeClassificationTests {
    @Test(
        "a reply that does not start with an HTTP status line is 'not an HTTP response', not a parser state",
        arguments: [HTTPParserError.invalidConstant, .invalidVersion, .invalidStatus]
    )
    func notHTTP(error: HTTPParserError) {
        #expect(Prober.classify(error) == .notHTTP)
        let wrapped = ByteToMessageDecoderError.dataReceivedInErrorState(error, ByteBuffer(string: "SSH-2.0-x\r\n"))
        #expect(Prober.classify(wrapped) == .notHTTP)
        #expect(ProbeResult.notHTTP.description.contains("--health-port"))
    }

    @Test("a broken header or body after a good status line is a malformed HTTP response")
    func malformedHTTP() {
        #expect(Prober.classify(HTTPParserError.invalidContentLength) == .other("malformed HTTP response: invalid character in content-length header"))
    }

    @Test("a connection closed before the request went out says so, not 'I/O on closed channel'")
    func closedBeforeRequest() {
        let result = Prober.classify(ChannelError.ioOnClosedChannel)
        #expect(result == .closedBeforeRequest)
        #expect(result.description.hasPrefix("closed before the request was sent"))
        #expect(result.description.contains("--health-port"))
    }

    @Test("a node's body, TLS or parser text with a newline, U+2028 or a bidi override stays on one line, cut")
    func nodeTextIsOneLine() {
        let forged = "Database unavailable\n2026-12-05T23:00:00+0000 info tessera-lb: node=n2 marked up\u{2028}\u{202E}x"
        for result in [ProbeResult.bodyMismatch(forged), .tlsError(forged), .other(forged)] {
            let text = result.description
            #expect(!text.unicodeScalars.contains { [0x0A, 0x0D, 0x85, 0x2028, 0x2029, 0x202E].contains($0.value) }, "\(text)")
            #expect(text.contains("Database unavailable\\n2026"), "\(text)")
        }
        let huge = ProbeResult.bodyMismatch(String(repeating: "x", count: 10_000)).description
        #expect(huge == "body without the expected text: \"\(String(repeating: "x", count: 256))\"... (10000 bytes)")
    }
}
