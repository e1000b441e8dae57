@_spi(Benchmarks) @testable import LBForwarding
import LBEngine
import Testing

/// A connection's life as a value: what each event leads to, in each phase, without sockets.
@Suite("connection state machine")
struct ConnectionStateTests {
    /// A state that has gone through `events`, each answered as `answers` says.
    private func state(after events: [ConnectionState.Event], answers: [ConnectionState.Action]) -> ConnectionState {
        var state = ConnectionState()
        for (event, answer) in zip(events, answers) {
            #expect(state.handle(event) == answer, "\(event)")
        }
        return state
    }

    private func forwarding() -> ConnectionState {
        state(after: [.accepted, .connected], answers: [.connect, .forward])
    }

    @Test("accepted: connect; a failed connect: the next node; connected: forward")
    func connectsThenForwards() {
        var state = ConnectionState()
        #expect(state.phase == .free)
        #expect(state.handle(.accepted) == .connect)
        #expect(state.phase == .connecting)
        #expect(state.handle(.connectFailed) == .connect)
        #expect(state.handle(.connectFailed) == .connect)
        #expect(state.phase == .connecting, "still connecting while nodes are left")
        #expect(state.handle(.connected) == .forward)
        #expect(state.phase == .forwarding)
    }

    @Test("no node left: closed without a reset, then the slot is released")
    func noNodeLeft() {
        var state = state(after: [.accepted, .connectFailed], answers: [.connect, .connect])
        #expect(state.handle(.noNode) == .close(reset: false))
        #expect(state.handle(.socketsClosed(requestsInFlight: false)) == .release)
        #expect(state.phase == .free)
    }

    @Test("each way ends on its own: a FIN is passed on once what came before it is delivered")
    func halfClose() {
        var state = forwarding()
        #expect(state.handle(.delivered(from: .client)) == .none, "nothing to pass on before the FIN")
        #expect(state.handle(.endOfStream(from: .client)) == .none)
        #expect(state.hasEnded(from: .client) && !state.isShut(from: .client))
        #expect(state.handle(.delivered(from: .client)) == .shutdownWrite(toward: .node))
        #expect(state.isShut(from: .client))
        #expect(state.handle(.delivered(from: .client)) == .none, "one FIN per way")
        #expect(state.closeIfBothWaysShut() == .none, "the node's way still carries bytes")
        #expect(state.phase == .forwarding)
        #expect(state.handle(.endOfStream(from: .node)) == .none)
        #expect(state.handle(.delivered(from: .node)) == .shutdownWrite(toward: .client))
        #expect(state.bothWaysShut)
        #expect(state.closeIfBothWaysShut() == .close(reset: false))
        #expect(state.closeIfBothWaysShut() == .none, "closed once")
        #expect(state.handle(.socketsClosed(requestsInFlight: false)) == .release)
        #expect(state.phase == .free)
    }

    @Test("a failed socket resets both sides, once; requests in flight keep the slot until the last is in")
    func failureWithRequestsInFlight() {
        var state = forwarding()
        _ = state.handle(.endOfStream(from: .node))
        #expect(state.handle(.failed) == .close(reset: true))
        #expect(state.handle(.failed) == .none, "a second report closes nothing twice")
        #expect(state.handle(.cut(reset: false)) == .none)
        #expect(state.handle(.socketsClosed(requestsInFlight: true)) == .none)
        #expect(state.phase == .closing)
        // Late completions of the closed connection change nothing.
        #expect(state.handle(.delivered(from: .node)) == .none)
        #expect(state.handle(.endOfStream(from: .client)) == .none)
        #expect(state.handle(.failed) == .none)
        #expect(state.handle(.connected) == .none)
        #expect(state.phase == .closing)
        #expect(state.handle(.requestsDone) == .release)
        #expect(state.phase == .free)
    }

    @Test("the balancer cuts a connection while connecting or forwarding, with a FIN or a reset as asked")
    func cut() {
        var connecting = state(after: [.accepted], answers: [.connect])
        #expect(connecting.handle(.cut(reset: false)) == .close(reset: false))
        var idle = forwarding()
        #expect(idle.handle(.cut(reset: false)) == .close(reset: false))
        #expect(!idle.bothWaysShut, "cut, not ended: the close decides whether unread bytes force a reset")
        var stopped = forwarding()
        #expect(stopped.handle(.cut(reset: true)) == .close(reset: true))
    }

    @Test("events that do not apply in a phase change nothing")
    func outOfPhase() {
        var free = ConnectionState()
        for event: ConnectionState.Event in [
            .connected, .connectFailed, .noNode, .endOfStream(from: .client), .delivered(from: .node), .failed,
            .cut(reset: true), .socketsClosed(requestsInFlight: false), .requestsDone,
        ] {
            #expect(free.handle(event) == .none, "\(event) while free")
        }
        #expect(free == ConnectionState())
        var connecting = state(after: [.accepted], answers: [.connect])
        let before = connecting
        // The client's bytes are not read while connecting, and nothing is closed yet.
        for event: ConnectionState.Event in [
            .endOfStream(from: .client), .delivered(from: .client), .socketsClosed(requestsInFlight: false), .requestsDone,
            .accepted,
        ] {
            #expect(connecting.handle(event) == .none, "\(event) while connecting")
        }
        #expect(connecting == before)
        var live = forwarding()
        #expect(live.handle(.connected) == .none)
        #expect(live.handle(.connectFailed) == .none)
        #expect(live.handle(.noNode) == .none)
        #expect(live.handle(.requestsDone) == .none)
        #expect(live.phase == .forwarding)
    }

    @Test("a slot used again starts from a clean state")
    func reuse() {
        var state = forwarding()
        _ = state.handle(.endOfStream(from: .client))
        _ = state.handle(.delivered(from: .client))
        _ = state.handle(.failed)
        _ = state.handle(.socketsClosed(requestsInFlight: false))
        #expect(state.phase == .free)
        #expect(state.handle(.accepted) == .connect)
        #expect(!state.hasEnded(from: .client) && !state.isShut(from: .client))
    }
}
