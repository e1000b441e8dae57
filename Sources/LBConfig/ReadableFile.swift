#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens a file the configuration names (a config file, a Tessera config, a CA, a certificate, a key) the one
/// safe way: without blocking, and only if it is a regular file of a sane size.
///
/// A FIFO would block open(2) until a writer comes, a device or a huge sparse file would be read without end;
/// every caller reports the problem as the setting that named the file.
package enum ReadableFile {
    /// Config files and PEM files are kilobytes: a Tessera config with many peers is tens of KB, a PEM bundle of
    /// every public CA about 250 KB. 16 MiB is far above any of them and still a bounded read.
    package static let maxBytes = 16 << 20

    /// Checks that the file can be read now, so a typo fails at start rather than at the first use.
    package static func check(_ path: String) throws(ConfigProblem) {
        let fd = try open(path)
        close(fd)
    }

    /// The whole file.
    package static func read(_ path: String) throws(ConfigProblem) -> [UInt8] {
        let fd = try open(path)
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return bytes }
            if n < 0 {
                if errno == EINTR { continue }
                throw ConfigProblem("cannot read it: \(String(cString: strerror(errno)))")
            }
            bytes.append(contentsOf: chunk[0..<n])
            // It may have grown since it was measured.
            if bytes.count > maxBytes { throw tooLarge(bytes.count) }
        }
    }

    /// A descriptor for a regular file of at most `maxBytes`; the caller closes it.
    private static func open(_ path: String) throws(ConfigProblem) -> Int32 {
        if path.isEmpty { throw ConfigProblem("the file name is empty") }
        // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw ConfigProblem("cannot read it: \(String(cString: strerror(errno)))") }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ConfigProblem("cannot read it: \(reason)")
        }
        let kind = status.st_mode & S_IFMT
        guard kind == S_IFREG else {
            close(fd)
            throw ConfigProblem("not a regular file (\(describe(kind)))")
        }
        guard status.st_size <= maxBytes else {
            close(fd)
            throw tooLarge(Int(status.st_size))
        }
        return fd
    }

    private static func tooLarge(_ bytes: Int) -> ConfigProblem {
        ConfigProblem("the file is \(bytes) bytes; at most \(maxBytes) bytes (16 MiB) are read")
    }

    private static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "a special file"
        }
    }
}
