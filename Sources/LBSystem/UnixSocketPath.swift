import Glibc
import Synchronization

/// The file of a unix-domain listener: a stale socket left by a previous run is removed before bind (bind
/// fails with EADDRINUSE otherwise), anything that is not a socket is left alone, the mode and owner asked for
/// are set after bind, and on stop the file is removed only if it is still the one bound here.
public enum UnixSocketPath {
    /// Who may connect: the file's permission bits and owner; nil leaves what bind gave (the umask, this process's
    /// user and group).
    public struct Access: Sendable, Equatable {
        public var mode: UInt32?
        public var user: UInt32?
        public var group: UInt32?

        public init(mode: UInt32? = nil, user: UInt32? = nil, group: UInt32? = nil) {
            self.mode = mode
            self.user = user
            self.group = group
        }
    }

    /// A file's identity: another file at the same path (a new socket of another process) has another one.
    private struct Identity: Equatable {
        let device: UInt64
        let inode: UInt64
    }

    /// The files this process bound, by path.
    private static let bound = Mutex<[String: Identity]>([:])

    /// Removes a stale socket at the address's path.
    ///
    /// - Throws: `SystemError` when the path exists and is not a socket.
    public static func prepare(_ address: SocketAddress) throws(SystemError) {
        let path = path(of: address)
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw SystemError("bind(\(address)): the path exists and is not a socket", errno: EEXIST)
        }
        unlink(path)
    }

    /// After bind: sets the file's mode and owner and remembers the file as this process's.
    ///
    /// - Throws: `SystemError` when chmod or chown fails (chown to another user needs CAP_CHOWN).
    public static func bound(_ address: SocketAddress, access: Access) throws(SystemError) {
        let path = path(of: address)
        if let mode = access.mode, chmod(path, mode_t(mode)) != 0 {
            throw SystemError("chmod(\(address), \(String(mode, radix: 8)))", errno: errno)
        }
        if access.user != nil || access.group != nil {
            // (uid_t)-1 and (gid_t)-1 leave that part as it is.
            guard chown(path, access.user ?? UInt32.max, access.group ?? UInt32.max) == 0 else {
                throw SystemError("chown(\(address))", errno: errno)
            }
        }
        if let identity = identity(path) { bound.withLock { $0[path] = identity } }
    }

    /// Removes the socket file if it is still the one bound here: what replaced it at the path since (another
    /// balancer's socket, anything else) is left alone.
    public static func remove(_ address: SocketAddress) {
        let path = path(of: address)
        guard let mine = bound.withLock({ $0.removeValue(forKey: path) }), identity(path) == mine else { return }
        unlink(path)
    }

    private static func identity(_ path: String) -> Identity? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    private static func path(of address: SocketAddress) -> String {
        String(address.description.dropFirst("unix:".count))
    }
}
