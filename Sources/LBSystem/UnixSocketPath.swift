import Glibc

/// The file of a unix-domain listener: a stale socket left by a previous run is removed before bind (bind
/// fails with EADDRINUSE otherwise), anything that is not a socket is left alone, and the file is removed on stop.
public enum UnixSocketPath {
    /// Removes a stale socket at the address's path.
    ///
    /// - Throws: `SystemError` when the path exists and is not a socket.
    public static func prepare(_ address: SocketAddress) throws(SystemError) {
        let path = String(address.description.dropFirst("unix:".count))
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw SystemError("bind(\(address)): the path exists and is not a socket", errno: EEXIST)
        }
        unlink(path)
    }

    /// Removes the socket file.
    public static func remove(_ address: SocketAddress) {
        unlink(String(address.description.dropFirst("unix:".count)))
    }
}
