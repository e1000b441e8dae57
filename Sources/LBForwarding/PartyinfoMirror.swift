import LBBalancing
import LBSystem

/// Partyinfo mirroring, the worker's side (`--mirror-partyinfo`, docs/tessera.md): a Tessera node learns a remote
/// peer's keys only from that peer's own `POST /partyinfo`, which lands on one node of the group. So each one
/// that comes through the P2P service is also sent to every other node that is up.
///
/// The worker hands it a framed connection's client bytes (`Worker.frameUp`) as they pass to the node, unchanged.
/// The connection's `HTTPFramer` finds the requests; a `POST /partyinfo` is captured whole (request line,
/// headers, body) and queued for the `MirrorSender`'s thread, which sends the copies. The client's own request
/// and answer go on as before: nothing here waits or writes to a socket. Memory is bounded: a request over
/// `maxRequestBytes`, or captures past `maxCaptureBytes` in all, are not mirrored (counted as dropped).
///
/// Worker thread only (the sender has its own).
final class PartyinfoMirror {
    static var maxRequestBytes: Int { 1 << 20 }
    static var maxCaptureBytes: Int { 16 << 20 }

    /// The mirrored service's index in the plan.
    let service: Int
    let sender: MirrorSender
    private let nodes: [NodeState]
    private let counters: WorkerCounters

    /// A request being captured, by slot; `dropped` once it outgrew the bounds (it still ends, and is counted).
    private struct Capture {
        var bytes: [UInt8]
        var dropped = false
    }
    private var captures: [Int32: Capture] = [:]
    private var captureBytes = 0

    /// Nil unless the plan mirrors a service.
    init?(plan: ForwardingPlan, counters: WorkerCounters) throws(SystemError) {
        guard let service = plan.mirrorService else { return nil }
        self.service = service
        self.nodes = plan.nodes
        self.counters = counters
        sender = try MirrorSender(
            addresses: plan.services[service].nodeAddresses, nodeNames: plan.nodes.map(\.name), counters: counters,
            notice: plan.notice
        )
    }

    /// Follows `bytes`, the next client bytes of slot `i` (connected to `node`), with its framer.
    func observe(_ framer: inout HTTPFramer, slot i: Int32, node: Int32, _ bytes: UnsafeRawBufferPointer, now: Int64) {
        var offset = 0
        while offset < bytes.count {
            let (n, event) = framer.scan(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            if !captures.isEmpty, captures[i] != nil { append(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]), to: i) }
            offset += n
            switch event {
            case .nothing:
                break
            case .partyinfo:
                forget(i)
                captures[i] = Capture(bytes: HTTPFramer.partyinfoPrefix)
                captureBytes += HTTPFramer.partyinfoPrefix.count
            case .messageEnd:
                guard let capture = captures.removeValue(forKey: i) else { break }
                captureBytes -= capture.bytes.count
                counters.partyinfoRequests.bump()
                if capture.dropped {
                    counters.partyinfoDropped.bump()
                } else {
                    mirror(capture.bytes, from: Int(node), now: now)
                }
            case .gaveUp:
                counters.unframedConnections.bump()
                forget(i)
                return
            }
        }
    }

    /// The connection on slot `i` ended: a request it was sending is not mirrored.
    func forget(_ i: Int32) {
        guard !captures.isEmpty, let capture = captures.removeValue(forKey: i) else { return }
        captureBytes -= capture.bytes.count
    }

    private func append(_ bytes: UnsafeRawBufferPointer, to i: Int32) {
        guard !captures[i]!.dropped else { return }
        if captures[i]!.bytes.count + bytes.count > Self.maxRequestBytes || captureBytes + bytes.count > Self.maxCaptureBytes {
            captureBytes -= captures[i]!.bytes.count
            captures[i] = Capture(bytes: [], dropped: true)
            return
        }
        captures[i]!.bytes.append(contentsOf: bytes)
        captureBytes += bytes.count
    }

    /// Queues copies of a whole request for every other node that is up for the service.
    private func mirror(_ request: [UInt8], from node: Int, now: Int64) {
        let targets = nodes.indices.filter { n in n != node && nodes[n].isServing(now: now, service: service) }
        guard !targets.isEmpty else { return }
        if !sender.submit(request, to: targets) { counters.partyinfoDropped.bump() }
    }
}
