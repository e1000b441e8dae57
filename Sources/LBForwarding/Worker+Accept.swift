import LBEngine
import LBSystem
import Synchronization

extension Worker {
    /// Accepts until the queue is empty (edge-triggered: the edge will not come again), the connection limit
    /// is reached, or descriptors run out.
    func acceptConnections(_ listener: Int) {
        while listeners[listener] >= 0 && listenerPausedUntil[listener] == 0 {
            if shared.openConnections.load(ordering: .relaxed) >= plan.maxConnections {
                pausedForLimit = true
                return
            }
            switch Socket.accept(listeners[listener]) {
            case .done(let fd):
                admit(Int32(truncatingIfNeeded: fd), service: listener)
            case .wouldBlock:
                return
            case .failed(let err) where err == Errno.tooManyOpenFiles || err == Errno.tooManyOpenFilesInSystem
                || err == Errno.noBufferSpace || err == Errno.noMemory:
                // Out of descriptors: pause this listener briefly instead of spinning on the same error.
                listenerPausedUntil[listener] = now + Self.listenerPauseMs
                if !shared.noticedDescriptorLimit.exchange(true, ordering: .relaxed) {
                    plan.notice(
                        "accept on \(plan.services[listener].name): \(Errno.describe(err)); "
                            + "pausing the listener for \(Self.listenerPauseMs) ms at a time until descriptors free up"
                    )
                }
                return
            case .failed:
                // ECONNABORTED and friends: that one connection is gone, the queue goes on.
                continue
            }
        }
    }

    /// Takes a slot for a new client and starts connecting it to a node. The client's bytes stay unread.
    private func admit(_ client: Int32, service: Int) {
        guard let i = slots.allocate() else {
            closeDescriptor(client)
            pausedForLimit = true
            return
        }
        shared.openConnections.add(1, ordering: .relaxed)
        counters.accepted.bump()
        counters.open.bump()
        slots[i].phase = .connecting
        slots[i].client = client
        slots[i].service = Int32(service)
        slots[i].up.splicing = plan.mode == .splice
        slots[i].down.splicing = plan.mode == .splice
        let token = EventToken(slot: UInt32(i), generation: slots[i].generation, side: 0)
        do {
            try epoll.add(client, events: Self.socketEvents, data: token.raw)
        } catch {
            closeDescriptor(client)
            slots[i].client = -1
            releaseSlot(i)
            return
        }
        startConnect(i)
    }

    /// Both directions, hang-ups, edge-triggered: registered once, never modified in the steady state.
    static let socketEvents = Epoll.readable | Epoll.writable | Epoll.readHangUp | Epoll.edgeTriggered

    /// Re-arms listeners whose pause has run out, and tries again after the connection limit eased.
    func resumePausedListeners() {
        for l in listeners.indices where listenerPausedUntil[l] > 0 && listenerPausedUntil[l] <= now {
            listenerPausedUntil[l] = 0
            acceptConnections(l)
        }
        if pausedForLimit && shared.openConnections.load(ordering: .relaxed) < plan.maxConnections {
            pausedForLimit = false
            for l in listeners.indices { acceptConnections(l) }
        }
    }

    /// Stops accepting: closes this worker's listeners (the kernel spreads the queue to those still open).
    ///
    /// Each is taken out of this worker's epoll first: after a hand-over (`EpollEngine.handOverListeners`) the
    /// next engine holds a duplicate, so closing would not end the socket, and epoll drops a registration only
    /// when the socket itself closes; this worker would go on being woken for connections it must not take.
    func closeListeners() {
        for l in listeners.indices where listeners[l] >= 0 {
            epoll.remove(listeners[l])
            closeDescriptor(listeners[l])
            listeners[l] = -1
        }
    }
}
