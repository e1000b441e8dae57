import Glibc
import LBEngine
import LBSystem
import Synchronization

extension Worker {
    /// Accepts until the queue is empty (edge-triggered: the edge will not come again), the connection limit
    /// is reached, or descriptors run out.
    ///
    /// (epoll: the listener said readable.)
    func acceptConnections(_ listener: Int) {
        while listeners[listener] >= 0 && listenerPausedUntil[listener] == 0 {
            guard holdReserve() else {
                pauseForDescriptors(listener, error: Errno.tooManyOpenFiles)
                return
            }
            // The count is taken before accept(2): the workers share one limit, and a check followed by an
            // add would let two of them take the last place at once.
            guard takeConnectionCount() else {
                pausedForLimit = true
                return
            }
            switch Socket.accept(listeners[listener]) {
            case .done(let fd):
                admit(Int32(truncatingIfNeeded: fd), service: listener)
            case .wouldBlock:
                giveBackConnectionCount()
                return
            case .failed(let err) where Self.isOutOfDescriptors(err):
                giveBackConnectionCount()
                pauseForDescriptors(listener, error: err)
                return
            case .failed:
                // ECONNABORTED and friends: that one connection is gone, the queue goes on.
                giveBackConnectionCount()
                continue
            }
        }
    }

    /// The kernel accepted a socket for us, or says why it could not (io_uring's accepts). A socket is served
    /// even when the listener was closed meanwhile: the client is connected, and resetting it would lose it.
    /// The event source re-arms its accepts itself (`RingEvents`).
    func acceptedSocket(_ listener: Int, result: Int32) {
        if result >= 0 {
            if pausedForLimit || !waitingClients.isEmpty || !holdReserve() {
                // Clients wait already, or no descriptor is left for its node socket: it waits, unread, after
                // them, as it would have in the accept queue.
                waitingClients.append((result, listener))
                if pausedForLimit { pauseForLimit() } else { pauseForDescriptors(listener, error: Errno.tooManyOpenFiles) }
            } else if !takeConnectionCount() {
                // An accept in flight took it before the pause reached the kernel, or another worker took the
                // last place: it waits, unread, until a connection closes.
                waitingClients.append((result, listener))
                pauseForLimit()
            } else {
                admit(result, service: listener)
                if shared.openConnections.load(ordering: .relaxed) >= plan.maxConnections { pauseForLimit() }
            }
        } else if Self.isOutOfDescriptors(-result) {
            pauseForDescriptors(listener, error: -result)
        }
        // -ECANCELED is our own pause; ECONNABORTED and friends lose that one connection only.
    }

    static func isOutOfDescriptors(_ err: Int32) -> Bool {
        err == Errno.tooManyOpenFiles || err == Errno.tooManyOpenFilesInSystem || err == Errno.noBufferSpace
            || err == Errno.noMemory
    }

    /// Out of descriptors: pause this listener briefly instead of spinning on the same error.
    func pauseForDescriptors(_ listener: Int, error err: Int32) {
        guard listeners[listener] >= 0 else { return }
        events.pauseListener(listeners[listener], index: listener)
        listenerPausedUntil[listener] = now + Self.listenerPauseMs
        noticeDescriptors(
            "accept on \(plan.services[listener].name): \(Errno.describe(err)), no descriptor left for a client "
                + "and its node socket; pausing the listener for \(Self.listenerPauseMs) ms at a time until "
                + "descriptors free up (raise the nofile limit or lower --max-conns)"
        )
    }

    /// Logs `line` unless a descriptor line was logged in the last minute (by any worker of the engine).
    func noticeDescriptors(_ line: String) {
        let last = shared.descriptorNoticeAt.load(ordering: .relaxed)
        guard last == 0 || now - last >= 60_000 else { return }
        guard shared.descriptorNoticeAt.compareExchange(expected: last, desired: max(1, now), ordering: .relaxed).exchanged else { return }
        plan.notice(line)
    }

    /// Whether the reserve of node sockets is whole, opening what was spent if descriptors are free now.
    func holdReserve() -> Bool {
        // Closes queued on the ring free their numbers once submitted.
        reserve.hold() || (socketCalls?.submitClosed() == true && reserve.hold())
    }

    /// socket(2) found no descriptor for an accepted client's node socket: the reserved socket of `family`
    /// (-1 when spent), and accepting pauses until the reserve is whole again.
    func takeReservedSocket(for family: SocketAddress.Family) -> Int32 {
        let fd = reserve.take(for: family)
        guard fd >= 0 else { return -1 }
        for l in listeners.indices where listeners[l] >= 0 { pauseForDescriptors(l, error: Errno.tooManyOpenFiles) }
        return fd
    }

    /// The connection limit is reached: accept again when a connection closes.
    func pauseForLimit() {
        pausedForLimit = true
        for l in listeners.indices where listeners[l] >= 0 { events.pauseListener(listeners[l], index: l) }
    }

    /// Below the connection limit again, or a descriptor free again: admit the clients the kernel accepted
    /// meanwhile, then accept again.
    func limitEased() {
        guard pausedForLimit || !waitingClients.isEmpty else { return }
        while !waitingClients.isEmpty && holdReserve() && takeConnectionCount() {
            let client = waitingClients.removeFirst()
            admit(client.fd, service: client.service)
        }
        guard waitingClients.isEmpty, shared.openConnections.load(ordering: .relaxed) < plan.maxConnections else { return }
        pausedForLimit = false
        for l in listeners.indices { acceptAgain(l) }
    }

    /// Accepts again on a listener that was paused, unless something still
    /// holds it back (clients accepted and waiting for a descriptor are admitted first).
    func acceptAgain(_ l: Int) {
        guard listeners[l] >= 0, listenerPausedUntil[l] == 0, !pausedForLimit, waitingClients.isEmpty else { return }
        if Events.deliversAcceptedSockets {
            events.resumeListener(listeners[l], index: l)
        } else {
            acceptConnections(l)
        }
    }

    /// Counts one more open connection unless that would pass `--max-conns` (shared by every worker of the
    /// engine: one atomic step, so two workers cannot both take the last place).
    func takeConnectionCount() -> Bool {
        if shared.openConnections.add(1, ordering: .relaxed).newValue <= plan.maxConnections { return true }
        shared.openConnections.subtract(1, ordering: .relaxed)
        return false
    }

    /// Gives back a count taken by `takeConnectionCount` for a client that was not admitted after all.
    func giveBackConnectionCount() {
        shared.openConnections.subtract(1, ordering: .relaxed)
    }

    /// Takes a slot for a new client and starts connecting it to a node. The client's bytes stay unread.
    /// The caller has counted it already (`takeConnectionCount`); a client refused here gives the count back.
    private func admit(_ client: Int32, service: Int) {
        if let allow = plan.services[service].allow, !admits(client, allow, service: service) {
            giveBackConnectionCount()
            return
        }
        guard let i = slots.allocate() else {
            giveBackConnectionCount()
            closeSocket(client, reset: false)
            pauseForLimit()
            return
        }
        counters.accepted.bump()
        counters.open.bump()
        slots[i].client = client
        slots[i].acceptedAt = now
        slots[i].service = Int32(service)
        slots[i].framer = HTTPFramer(active: service == plan.mirrorService)
        slots[i].up.splicing = plan.mode == .splice && !slots[i].framer.isActive
        slots[i].down.splicing = plan.mode == .splice
        let token = EventToken(slot: UInt32(i), generation: slots[i].generation, side: .client)
        do {
            // The ring copy mover learns of the client's bytes and hang-ups from its recv requests.
            if !movesByRingCopy { try events.watch(client, token: token) }
        } catch {
            closeSocket(client, reset: false)
            slots[i].client = -1
            releaseSlot(i)
            return
        }
        advance(i, .accepted)
    }

    /// Whether the allowlist admits the client (getpeername(2): one call, on allowlisted services only). A client
    /// it does not admit is closed here, before any node hears of it; counted, and logged at most every 10 s.
    private func admits(_ client: Int32, _ allow: [AddressRange], service: Int) -> Bool {
        let peer = SocketAddress.peer(of: client)
        if let peer, allow.contains(where: { $0.contains(peer) }) { return true }
        closeSocket(client, reset: false)
        counters.refusedByAllowlist.bump()
        refusedSinceNotice += 1
        if now - refusalNoticeAt >= Self.refusalNoticeMs {
            plan.notice(
                "allowlist: refused \(refusedSinceNotice) connection\(refusedSinceNotice == 1 ? "" : "s") "
                    + "not admitted by service \(plan.services[service].name)'s list, the last from "
                    + "\(peer.map { "\($0)" } ?? "an address getpeername could not read")"
            )
            refusedSinceNotice = 0
            refusalNoticeAt = now
        }
        return false
    }

    /// At most one line about refused clients in this long, per worker.
    static var refusalNoticeMs: Int64 { 10_000 }

    /// Re-arms listeners whose pause has run out, and tries again after the connection limit eased.
    func resumePausedListeners() {
        for l in listeners.indices where listenerPausedUntil[l] > 0 && listenerPausedUntil[l] <= now {
            listenerPausedUntil[l] = 0
            acceptAgain(l)
        }
        limitEased()
    }

    /// Stops accepting: closes this worker's listeners (the kernel spreads the queue to those still open).
    ///
    /// Each is taken out of this worker's event source first: after a hand-over (`handOverListeners`) the next
    /// engine holds a duplicate, so closing would not end the socket, and epoll drops a registration (io_uring
    /// a multishot accept) only when the socket itself closes; this worker would go on taking connections.
    func closeListeners() {
        // io_uring: the accepts and cancellations queued for these descriptors go to the kernel before the
        // numbers are free for another socket.
        for l in listeners.indices where listeners[l] >= 0 { events.removeListener(listeners[l], index: l) }
        events.submitBeforeClosing()
        for l in listeners.indices where listeners[l] >= 0 {
            closeDescriptor(listeners[l])
            listeners[l] = -1
        }
        listenersClosed = true
    }
}
