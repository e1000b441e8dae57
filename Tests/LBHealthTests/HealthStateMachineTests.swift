import LBHealth
import Testing

/// Rise and fall counting, without sockets.
@Suite("rise and fall")
struct HealthStateMachineTests {
    @Test("fall consecutive failures take a node down, rise successes bring it back")
    func riseAndFall() {
        var m = HealthStateMachine(rise: 2, fall: 3, startUp: false)
        #expect(m.record(success: true) == nil)
        #expect(m.record(success: true) == .wentUp)
        #expect(m.record(success: false) == nil)
        #expect(m.isChanging, "between states: probe faster")
        #expect(m.record(success: false) == nil)
        #expect(m.record(success: false) == .wentDown)
        #expect(!m.isUp)
    }

    @Test("a success in between restarts the fall count")
    func successResetsFall() {
        var m = HealthStateMachine(rise: 2, fall: 2, startUp: false)
        _ = m.record(success: true)
        _ = m.record(success: true)
        #expect(m.record(success: false) == nil)
        #expect(m.record(success: true) == nil)
        #expect(m.record(success: false) == nil, "only one failure in a row")
        #expect(m.isUp)
    }

    @Test("starting up, the first failed probe takes the node down")
    func startsGoingDown() {
        var m = HealthStateMachine(rise: 2, fall: 2, startUp: true)
        #expect(m.isUp)
        #expect(m.record(success: false) == .wentDown)
    }

    @Test("starting down, rise good probes are needed")
    func startsDown() {
        var m = HealthStateMachine(rise: 3, fall: 2, startUp: false)
        #expect(!m.isUp)
        #expect(m.record(success: true) == nil)
        #expect(m.record(success: true) == nil)
        #expect(m.record(success: true) == .wentUp)
    }

    @Test("a node forced down by failed connects needs rise good probes to return")
    func forcedDown() {
        var m = HealthStateMachine(rise: 2, fall: 2, startUp: true)
        _ = m.record(success: true)
        #expect(m.forceDown() == .wentDown)
        #expect(m.forceDown() == nil)
        #expect(m.record(success: true) == nil)
        #expect(m.record(success: true) == .wentUp)
    }
}
