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
}
