import LBBalancing
import LBEngine
import LBSystem
import Synchronization

extension Worker {
    /// Tells the connection's state (`ConnectionState`) what happened and does what it answers: the one place
    /// a connection moves on, from its first connect to the release of its slot.
    @inline(__always)
    func advance(_ i: Int32, _ event: ConnectionState.Event) {
        switch slots[i].state.handle(event) {
        case .none:
            return
        case .connect:
            startConnect(i)
        case .forward:
            startForwarding(i)
        case .shutdownWrite(let side):
            let next = slots[i].state.closeIfBothWaysShut()
            if case .close(let reset) = next {
                // Both ways are done: the close sends this FIN (nothing is left unread), so with closes on the ring
                // the shutdown would be a system call for nothing.
                if socketCalls == nil { Socket.shutdownWrite(slots[i].socket(side)) }
                close(i, reset: reset)
            } else {
                Socket.shutdownWrite(slots[i].socket(side))
            }
        case .close(let reset):
            close(i, reset: reset)
        case .release:
            releaseSlot(i)
        }
    }

    /// Ends a connection: closes both sockets (with a reset instead of a FIN when `reset`), returns pipes and
    /// buffers; the slot is freed now, or once the ring's requests that name it are in.
    /// A pipe that may still hold bytes is closed rather than pooled.
    ///
    /// A connection that still holds bytes for either side (an idle timeout on a reader that stopped, a node
    /// marked down mid-answer, the drain's end) is reset even when `reset` is false: a FIN would tell that
    /// peer the stream ended where it was cut.
    ///
    /// When the balancer ends a connection before both sides finished (idle, node marked down, hard stop) and a
    /// side sent bytes nobody read, the kernel resets that side on close whatever is asked: it is reset, and
    /// logged so, explicitly.
    private func close(_ i: Int32, reset requested: Bool) {
        let cut = slots[i].node >= 0 && !slots[i].state.bothWaysShut
        let reset = requested || holdsBytes(i)
            || (cut && (Socket.hasUnreadBytes(slots[i].client) || Socket.hasUnreadBytes(slots[i].server)))
        if let connectionLog {
            var record = ConnectionRecord()
            record.service = slots[i].service
            record.node = slots[i].node
            record.durationMs = now - slots[i].acceptedAt
            record.bytesUp = slots[i].bytesUp
            record.bytesDown = slots[i].bytesDown
            record.ending = reset ? .reset : (slots[i].node < 0 ? .noNode : .closed)
            connectionLog.push(record)
        }
        mirror?.forget(i)
        slots.unlink(i, from: &slots.connecting)
        slots.unlink(i, from: &slots.idle)
        pump.end(i, in: self)
        if slots[i].ringCopy, let ringCopy {
            // Its recvs and sends name its sockets: submitted before the numbers are free again (see
            // `EventSource.submitBeforeClosing`), which closes queued on the ring after them see to.
            if socketCalls == nil { events.submitBeforeClosing() }
            ringCopy.end(i, in: self)
        }
        let generation = slots[i].generation
        if slots[i].client >= 0 && polls(i, side: .client) {
            events.unwatch(slots[i].client, token: EventToken(slot: UInt32(i), generation: generation, side: .client))
        }
        if slots[i].server >= 0 && slots[i].phase == .connecting {
            // Its poll, or its connect request, holds the socket until it ends.
            unwatchConnectingNode(i)
        } else if slots[i].server >= 0 && polls(i, side: .node) {
            events.unwatch(slots[i].server, token: EventToken(slot: UInt32(i), generation: generation, side: .node))
        }
        closeSocket(slots[i].client, reset: reset)
        closeSocket(slots[i].server, reset: reset)
        slots[i].client = -1
        slots[i].server = -1
        if slots[i].node >= 0 {
            plan.nodes[Int(slots[i].node)].activeConnections.subtract(1, ordering: .relaxed)
            slots[i].node = -1
        }
        advance(i, .socketsClosed(requestsInFlight: slots[i].inFlight > 0))
    }

    /// Bytes taken from one side and not yet given to the other: in a pipe or copy buffer, or queued for the
    /// ring copy mover's sends.
    @inline(__always)
    private func holdsBytes(_ i: Int32) -> Bool {
        !slots[i].up.isEmpty || !slots[i].down.isEmpty || slots[i].up.head >= 0 || slots[i].down.head >= 0
    }

    /// Frees a slot that holds no descriptors any more.
    ///
    /// Below the connection limit again, waiting clients are admitted and listeners resumed by the loop once
    /// this turn's events are handled (`resumePausedListeners`), not from here: a connection that ends never
    /// starts another inside its own ending (finish -> admit -> connect -> finish ...).
    func releaseSlot(_ i: Int32) {
        slots.release(i)
        shared.openConnections.subtract(1, ordering: .relaxed)
        counters.open.bump(-1)
    }

    /// Closes a connection's socket: on the ring where it can (`RingSocketCalls`: behind what was queued naming it),
    /// else now. Every close of a client or node socket goes through here.
    @inline(__always)
    func closeSocket(_ fd: Int32, reset: Bool) {
        guard fd >= 0 else { return }
        if let socketCalls {
            socketCalls.close(fd, reset: reset)
        } else if reset {
            Socket.closeWithReset(fd)
        } else {
            closeDescriptor(fd)
        }
    }

    /// On stop: every connection and listener closed, every descriptor returned.
    func closeEverything() {
        closeListeners()
        for client in waitingClients { closeSocket(client.fd, reset: false) }
        waitingClients.removeAll()
        for i in 0..<Int32(slots.capacity) where slots[i].phase != .free {
            advance(i, .cut(reset: false))
            // What is still in flight ends with the ring.
            if slots[i].phase == .closing { advance(i, .requestsDone) }
        }
    }
}
