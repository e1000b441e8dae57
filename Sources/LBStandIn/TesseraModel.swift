import Foundation
import Synchronization

/// What a stand-in knows as a Tessera node of an HA group (../shared/tessera-facts.md §4 and §10): its own keys
/// and version, and the remote keys it has learned, per process, from peers' `POST /partyinfo`. This is what the
/// balancer's group checks and partyinfo mirroring are tested against:
/// - `POST /partyinfo` (P2P): the sender's binary partyinfo; its keys become known here, to this process only.
/// - `GET /partyinfo` (P2P): `{"url", "peers":[{"url"}], "keys":[{"key","url"}]}`, own keys and known ones.
/// - `GET /keys` (ThirdParty): `{"keys":[{"key"}]}`, the node's own keys; `GET /partyinfo/keys`: all it knows.
/// - `GET /version/distribution` and `GET /version` (every server): the version, as text.
/// - `POST /send` (Q2T) with a JSON body: `404 Recipient not found` for a `to` key this process has not heard of.
/// Everything else is the stand-in's fast path (HTTPResponder).
public final class TesseraModel: Sendable {
    /// Tessera's sample key: every stand-in of a group holds it unless told otherwise, as the nodes of an HA
    /// group share their keys.
    public static let defaultKeys = ["BULeR8JyUWhiuuCMU/HLA0Q5pzkYT+cHII3ZKBey3Bo="]
    public static let defaultVersion = "24.4.2"

    private struct State {
        var url: String
        var ownKeys: [String]
        var version: String
        /// Remote key -> the URL its owner advertised.
        var remote: [String: String] = [:]
        var peers: Set<String> = []
    }

    private let state: Mutex<State>

    public init(url: String = "", keys: [String] = TesseraModel.defaultKeys, version: String = TesseraModel.defaultVersion) {
        state = Mutex(State(url: url, ownKeys: keys, version: version))
    }

    /// The URL this node advertises (its P2P server).
    public var url: String {
        get { state.withLock { $0.url } }
        set { state.withLock { $0.url = newValue } }
    }

    /// The node's own public keys (base64).
    public var ownKeys: [String] {
        get { state.withLock { $0.ownKeys } }
        set { state.withLock { $0.ownKeys = newValue } }
    }

    /// What `GET /version/distribution` answers.
    public var version: String {
        get { state.withLock { $0.version } }
        set { state.withLock { $0.version = newValue } }
    }

    /// The remote keys this process has learned from `POST /partyinfo`.
    public var knownRemoteKeys: Set<String> { state.withLock { Set($0.remote.keys) } }

    /// An answer to one of the group requests.
    struct Answer {
        var status: String
        var type: String
        var body: [UInt8]
    }

    /// Answers `method path` with `body` when it is one of the requests above on `service`; nil otherwise.
    func answer(method: String, path: String, body: UnsafeRawBufferPointer, service: String) -> Answer? {
        let path = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        switch (method, path) {
        case ("GET", "/version/distribution"), ("GET", "/version"):
            return Answer(status: "200 OK", type: "text/plain", body: Array(version.utf8))
        case ("POST", "/partyinfo") where service == "p2p":
            guard let info = PartyInfoCodec.decode(Array(body)) else {
                return Answer(status: "400 Bad Request", type: "text/plain", body: Array("malformed partyinfo".utf8))
            }
            state.withLock { state in
                for recipient in info.recipients where !state.ownKeys.contains(recipient.key) {
                    state.remote[recipient.key] = recipient.url
                }
                state.peers.insert(info.url)
                for party in info.parties where party != state.url { state.peers.insert(party) }
            }
            return Answer(status: "200 OK", type: "application/octet-stream", body: [])
        case ("GET", "/partyinfo") where service == "p2p":
            let (url, own, remote, peers) = state.withLock { ($0.url, $0.ownKeys, $0.remote, $0.peers) }
            let keys = own.map { ["key": $0, "url": url] } + remote.sorted { $0.key < $1.key }.map { ["key": $0.key, "url": $0.value] }
            let document: [String: Any] = ["url": url, "peers": peers.sorted().map { ["url": $0] }, "keys": keys]
            return json(document)
        case ("GET", "/keys") where service == "thirdparty":
            return json(["keys": ownKeys.map { ["key": $0] }])
        case ("GET", "/partyinfo/keys") where service == "thirdparty":
            let all = state.withLock { $0.ownKeys + $0.remote.keys.sorted() }
            return json(["keys": all.map { ["key": $0] }])
        case ("POST", "/send"):
            guard let request = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                let to = request["to"] as? [String]
            else { return nil }
            let known = state.withLock { Set($0.ownKeys).union($0.remote.keys) }
            if let missing = to.first(where: { !known.contains($0) }) {
                return Answer(
                    status: "404 Not Found", type: "text/plain", body: Array("Recipient not found for key: \(missing)".utf8)
                )
            }
            return json(["key": "c3RhbmQtaW4gdHJhbnNhY3Rpb24=", "managedParties": [String](), "senderKey": ownKeys.first ?? ""])
                .map { Answer(status: "201 Created", type: $0.type, body: $0.body) }
        default:
            return nil
        }
    }

    private func json(_ document: [String: Any]) -> Answer? {
        guard let data = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes]) else { return nil }
        return Answer(status: "200 OK", type: "application/json", body: Array(data))
    }
}

/// Tessera's binary partyinfo, as `POST /partyinfo` carries it (Tessera's PartyInfoParser): big-endian 64-bit
/// lengths and counts. The sender's URL; its recipients, each a raw 32-byte key and the URL that holds it; the
/// parties (peer URLs) it knows.
public enum PartyInfoCodec {
    public struct PartyInfo: Equatable, Sendable {
        public var url: String
        /// Keys as base64, as Tessera shows them.
        public var recipients: [(key: String, url: String)]
        public var parties: [String]

        public init(url: String, recipients: [(key: String, url: String)], parties: [String]) {
            self.url = url
            self.recipients = recipients
            self.parties = parties
        }

        public static func == (a: PartyInfo, b: PartyInfo) -> Bool {
            a.url == b.url && a.parties == b.parties && a.recipients.map(\.key) == b.recipients.map(\.key)
                && a.recipients.map(\.url) == b.recipients.map(\.url)
        }
    }

    public static func encode(_ info: PartyInfo) -> [UInt8] {
        var out: [UInt8] = []
        func long(_ value: Int) { withUnsafeBytes(of: UInt64(value).bigEndian) { out.append(contentsOf: $0) } }
        func bytes(_ value: [UInt8]) {
            long(value.count)
            out.append(contentsOf: value)
        }
        bytes(Array(info.url.utf8))
        long(info.recipients.count)
        for recipient in info.recipients {
            bytes(Array(Data(base64Encoded: recipient.key) ?? Data(recipient.key.utf8)))
            bytes(Array(recipient.url.utf8))
        }
        long(info.parties.count)
        for party in info.parties { bytes(Array(party.utf8)) }
        return out
    }

    /// Nil when the bytes are not a whole partyinfo (or claim more than they hold).
    public static func decode(_ bytes: [UInt8]) -> PartyInfo? {
        var at = 0
        func long() -> Int? {
            guard at + 8 <= bytes.count else { return nil }
            var value: UInt64 = 0
            for k in 0..<8 { value = value << 8 | UInt64(bytes[at + k]) }
            at += 8
            return value <= UInt64(bytes.count) ? Int(value) : nil
        }
        func chunk() -> [UInt8]? {
            guard let count = long(), at + count <= bytes.count else { return nil }
            defer { at += count }
            return Array(bytes[at..<at + count])
        }
        guard let url = chunk(), let recipientCount = long() else { return nil }
        var recipients: [(key: String, url: String)] = []
        for _ in 0..<recipientCount {
            guard let key = chunk(), let holder = chunk() else { return nil }
            recipients.append((Data(key).base64EncodedString(), String(decoding: holder, as: UTF8.self)))
        }
        guard let partyCount = long() else { return nil }
        var parties: [String] = []
        for _ in 0..<partyCount {
            guard let party = chunk() else { return nil }
            parties.append(String(decoding: party, as: UTF8.self))
        }
        return PartyInfo(url: String(decoding: url, as: UTF8.self), recipients: recipients, parties: parties)
    }
}
