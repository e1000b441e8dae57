import Glibc

/// This process as the kernel sees it, from /proc (the names Prometheus client libraries use).
struct ProcessStats: Sendable {
    var openDescriptors: Int
    var maxDescriptors: Int
    var cpuSeconds: Double
    var residentBytes: Int
    var virtualBytes: Int
    /// Seconds since the epoch.
    var startTime: Double

    /// Reads /proc/self/fd, /proc/self/stat, /proc/stat and RLIMIT_NOFILE now; a field that cannot be read
    /// is -1.
    static func read() -> ProcessStats {
        var stats = ProcessStats(
            openDescriptors: countDescriptors(), maxDescriptors: -1, cpuSeconds: -1, residentBytes: -1, virtualBytes: -1,
            startTime: -1
        )
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            stats.maxDescriptors = limit.rlim_cur == rlim_t.max ? Int.max : Int(limit.rlim_cur)
        }
        // The command name (field 2) is in parentheses and may hold spaces: fields are counted after the last ')'.
        if let stat = readFile("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // fields[0] is field 3 (state); field n is fields[n - 3] (proc(5)).
            func field(_ n: Int) -> Double? { fields.count > n - 3 ? Double(fields[n - 3]) : nil }
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            let page = sysconf(Int32(_SC_PAGESIZE))
            if let user = field(14), let system = field(15) { stats.cpuSeconds = (user + system) / ticks }
            if let size = field(23) { stats.virtualBytes = Int(size) }
            if let rss = field(24) { stats.residentBytes = Int(rss) * page }
            if let start = field(22), let boot = bootTime() { stats.startTime = boot + start / ticks }
        }
        return stats
    }

    /// Entries of /proc/self/fd, less the one opendir holds while counting.
    static func countDescriptors() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return -1 }
        var count = 0
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != 46 { count += 1 }  // skip "." and ".."
        }
        closedir(dir)
        return count - 1
    }

    /// `btime` of /proc/stat: when the machine booted, seconds since the epoch.
    private static func bootTime() -> Double? {
        guard let text = readFile("/proc/stat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingPrefix(" "))
        }
        return nil
    }

    /// A /proc file's text (their size is 0 to stat, so read until end of file).
    private static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
