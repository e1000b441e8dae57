import Glibc
import LBBalancing
import LBEngine
import LBSystem
import Synchronization

extension Worker {
    /// Picks the next node not yet tried and starts a non-blocking connect; on an immediate failure, counts it
    /// against the node and tries the next. With no node left, the client is closed.
    ///
    /// When socket(2) finds no descriptor, the worker's reserved socket (`NodeSocketReserve`) becomes the node
    /// socket: a client is accepted only while the reserve is held, so an accepted client is not closed for want
    /// of one.
    func startConnect(_ i: Int32) {
        let serviceIndex = Int(slots[i].service)
        let service = plan.services[serviceIndex]
        while let node = picker.pick(from: plan.nodes, service: serviceIndex, excluding: slots[i].tried, now: now)
            ?? (plan.allDownFallback ? picker.pickLeastRecentlyFailed(from: plan.nodes, excluding: slots[i].tried) : nil)
        {
            if slots[i].tried.bits != 0 { counters.serviceNodes.bump(slots[i].service, Int32(node), .retries) }
            slots[i].tried.insert(node)
            let state = plan.nodes[node]
            let address = service.nodeAddresses[node]
            var fd = Socket.openStream(family: address.family)
            if fd < 0 && Self.isOutOfDescriptors(errno) && socketCalls?.submitClosed() == true {
                // The closes queued this turn free their numbers once submitted.
                fd = Socket.openStream(family: address.family)
            }
            if fd < 0 {
                // Our descriptors ran out: not the node's fault. The reserve is this client's node socket.
                let err = errno
                if Self.isOutOfDescriptors(err) { fd = takeReservedSocket(for: address.family) }
                if fd < 0 {
                    noticeDescriptors(
                        "no descriptor for a node socket of \(service.name) (\(Errno.describe(err))): "
                            + "the client is closed (raise the nofile limit or lower --max-conns)"
                    )
                    break
                }
            }
            // Options first: the ring runs requests in the order queued, so a connect on the ring sends its SYN
            // with them set. (A direct connect runs now and its queued options at the end of the turn, before the
            // ring copy mover's first request on the socket; a write before then, on a connect that finished at
            // once, can only be held by Nagle until TCP_NODELAY arrives, which sends it.)
            setNodeOptions(fd)
            if connectsOnRing, let socketCalls {
                socketCalls.connect(fd, service: serviceIndex, node: node, userData: connectToken(i).raw)
                slots[i].server = fd
                slots[i].node = Int32(node)
                state.activeConnections.add(1, ordering: .relaxed)
                slots[i].deadline = now + plan.connectTimeoutMs
                slots.append(i, to: &slots.connecting)
                return
            }
            do {
                let connected = try Socket.connect(fd, to: address, noDelay: false)
                slots[i].server = fd
                slots[i].node = Int32(node)
                state.activeConnections.add(1, ordering: .relaxed)
                let token = EventToken(slot: UInt32(i), generation: slots[i].generation, side: .node)
                do {
                    try events.watch(fd, token: token)
                } catch {
                    dropNodeSocket(i, watched: false)
                    break
                }
                if connected {
                    advance(i, .connected)
                } else {
                    slots[i].deadline = now + plan.connectTimeoutMs
                    slots.append(i, to: &slots.connecting)
                }
                return
            } catch {
                counters.connectFailures.bump()
                counters.serviceNodes.bump(slots[i].service, Int32(node), .connectFailures)
                plan.passiveHealth.recordFailure(state, now: now)
                counters.retries.bump()
            }
        }
        counters.noNode.bump()
        advance(i, .noNode)
    }

    /// The node socket's options (TCP_NODELAY, the user timeout, keepalive): queued on the ring where it takes
    /// them, else set now.
    private func setNodeOptions(_ fd: Int32) {
        if let socketCalls, socketCalls.setsOptions {
            socketCalls.setNodeOptions(fd)
        } else {
            Socket.setNoDelay(fd)
            Socket.bound(fd, userTimeoutMs: plan.nodeUserTimeoutMs, keepaliveIdleSeconds: plan.nodeKeepaliveSeconds)
        }
    }

    /// The token of a connection's connect request (`connectsOnRing`).
    @inline(__always)
    func connectToken(_ i: Int32) -> EventToken {
        EventToken(slot: UInt32(i), generation: slots[i].generation, side: .node, operation: .connect)
    }

    /// The completion of a node connect that went on the ring: 0 connected, else -errno (refused, reset, timed
    /// out in the kernel). A connect given up meanwhile (our deadline, a close) was cancelled under an older
    /// generation, so its completion never reaches here.
    func ringConnectCompleted(_ i: Int32, result: Int32) {
        guard slots[i].phase == .connecting else { return }
        if result == 0 {
            advance(i, .connected)
        } else {
            connectFailed(i, error: -result)
        }
    }

    /// Ends what watches a node socket that is still connecting: its poll, or its connect request.
    func unwatchConnectingNode(_ i: Int32) {
        if connectsOnRing {
            socketCalls?.ring.prepareCancel(connectToken(i).raw, userData: EventToken.ignored.raw)
        } else {
            events.unwatch(slots[i].server, token: EventToken(slot: UInt32(i), generation: slots[i].generation, side: .node))
        }
    }

    /// Readiness of a connection's socket (epoll, or an io_uring poll). While connecting only the node side
    /// matters, and the client's readiness is remembered for when the node answers; once forwarding, the pump
    /// moves bytes on it.
    @inline(__always)
    func connectionEvent(_ i: Int32, side: Side, events: UInt32) {
        if slots[i].phase == .connecting {
            if side == .node {
                // EPOLLERR with SO_ERROR is a failed connect. EPOLLHUP alone is not: the node accepted and
                // closed, which the first read will show as end of stream.
                if events & Epoll.error != 0 {
                    connectFailed(i, error: Socket.pendingError(slots[i].server))
                    return
                }
                if events & (Epoll.writable | Epoll.hangUp) != 0 {
                    if events & (Epoll.readable | Epoll.readHangUp | Epoll.hangUp) != 0 { slots[i].readable.node = true }
                    if events & (Epoll.readHangUp | Epoll.hangUp) != 0 { slots[i].hungUp.node = true }
                    advance(i, .connected)
                }
            } else {
                if events & Epoll.error != 0 {
                    advance(i, .failed)
                    return
                }
                if events & (Epoll.readable | Epoll.readHangUp | Epoll.hangUp) != 0 { slots[i].readable.client = true }
                if events & (Epoll.readHangUp | Epoll.hangUp) != 0 { slots[i].hungUp.client = true }
                if events & Epoll.writable != 0 { slots[i].writable.client = true }
            }
            return
        }
        pump.handle(i, side: side, operation: .poll, result: Int32(bitPattern: events), flags: 0, in: self)
    }

    /// The node connection is up: count the success, start moving bytes.
    func startForwarding(_ i: Int32) {
        slots.unlink(i, from: &slots.connecting)
        slots[i].writable.node = true
        plan.passiveHealth.recordSuccess(plan.nodes[Int(slots[i].node)])
        counters.serviceNodes.bump(slots[i].service, slots[i].node, .connections)
        if plan.idleTimeoutMs > 0 {
            slots[i].deadline = now + plan.idleTimeoutMs
            slots.append(i, to: &slots.idle)
        }
        if let ringCopy {
            ringCopy.begin(i, in: self)
        } else {
            pump.begin(i, in: self)
        }
    }

    /// A connect failed (refused, reset, timed out): count it against the node, try the next one.
    /// Nothing of the client's has been read, so nothing is lost.
    func connectFailed(_ i: Int32, error: Int32) {
        slots.unlink(i, from: &slots.connecting)
        counters.connectFailures.bump()
        counters.serviceNodes.bump(slots[i].service, slots[i].node, .connectFailures)
        let node = plan.nodes[Int(slots[i].node)]
        plan.passiveHealth.recordFailure(node, now: now)
        dropNodeSocket(i, watched: true)
        // The next node's socket is watched under a new generation, so that anything the old socket's watch
        // still reports (io_uring may have queued more than one completion) is recognised as stale.
        let old = EventToken(slot: UInt32(i), generation: slots[i].generation, side: .client)
        slots.renew(i)
        let new = EventToken(slot: UInt32(i), generation: slots[i].generation, side: .client)
        do {
            if !movesByRingCopy { try events.rewatch(slots[i].client, from: old, to: new) }
        } catch {
            advance(i, .cut(reset: false))
            return
        }
        counters.retries.bump()
        advance(i, .connectFailed)
    }

    /// Closes the node socket of a connection that never got going.
    private func dropNodeSocket(_ i: Int32, watched: Bool) {
        if slots[i].server >= 0 {
            if watched { unwatchConnectingNode(i) }
            closeSocket(slots[i].server, reset: false)
            slots[i].server = -1
        }
        if slots[i].node >= 0 {
            plan.nodes[Int(slots[i].node)].activeConnections.subtract(1, ordering: .relaxed)
            slots[i].node = -1
        }
    }
}
