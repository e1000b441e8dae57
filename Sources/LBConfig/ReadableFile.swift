#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks that a file the balancer will read later (a CA, a certificate, a key) can be read now.
package enum ReadableFile {
    package static func check(_ path: String) throws(ConfigProblem) {
        if path.isEmpty { throw ConfigProblem("the file name is empty") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfigProblem("cannot read it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw ConfigProblem("cannot read it: \(String(cString: strerror(errno)))") }
        if (status.st_mode & S_IFMT) == S_IFDIR { throw ConfigProblem("cannot read it: Is a directory") }
    }
}
