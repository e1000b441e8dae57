extension Worker {
    /// Client bytes of a connection whose framer is active (the mirrored P2P service), read into user space on
    /// their way to its node: the framer follows them, and a `POST /partyinfo` is mirrored (`PartyinfoMirror`).
    /// Returns whether the connection is still framed; once not (TLS, not HTTP/1.x), it is plain L4 for good.
    ///
    /// While framed, the client-to-node direction copies (the framer must see the bytes): splice is not used for it.
    func frameUp(_ i: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Bool {
        guard let mirror else { return false }
        var framer = slots[i].framer
        mirror.observe(&framer, slot: i, node: slots[i].node, UnsafeRawBufferPointer(start: bytes, count: count), now: now)
        slots[i].framer = framer
        return framer.isActive
    }
}
