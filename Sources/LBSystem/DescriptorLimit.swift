import Glibc

/// The process's open file limit (RLIMIT_NOFILE).
public enum DescriptorLimit {
    /// The soft (enforced) and hard (ceiling) limits; Int.max when unlimited.
    public static func current() -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (Int.max, Int.max) }
        return (count(limit.rlim_cur), count(limit.rlim_max))
    }

    /// Raises the soft limit to the hard one (a process may, unprivileged), as servers do at start; the
    /// limits after. An unlimited hard limit is taken as the kernel's ceiling, fs.nr_open.
    @discardableResult
    public static func raiseSoftToHard() -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return current() }
        var target = limit.rlim_max
        if target == rlim_t.max, let ceiling = kernelCeiling() { target = rlim_t(ceiling) }
        if limit.rlim_cur < target {
            limit.rlim_cur = target
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        return current()
    }

    private static func count(_ value: rlim_t) -> Int {
        value == rlim_t.max || value > rlim_t(Int.max) ? Int.max : Int(value)
    }

    /// fs.nr_open: no process may have more descriptors than this.
    private static func kernelCeiling() -> Int? {
        let fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 32)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return Int(String(decoding: bytes[0..<n].filter { (0x30...0x39).contains($0) }, as: UTF8.self))
    }
}
