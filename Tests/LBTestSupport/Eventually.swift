import Glibc

/// Polls `condition` until it holds or `seconds` pass; returns whether it held. No fixed sleeps as
/// synchronisation: the caller asserts on the result and reports what it last saw.
public func eventually(within seconds: Double = 5, every milliseconds: Int = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = monotonicSeconds() + seconds
    while true {
        if try condition() { return true }
        if monotonicSeconds() > deadline { return false }
        usleep(useconds_t(milliseconds * 1000))
    }
}

/// Monotonic seconds, for deadlines in tests.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Descriptors this process has open (entries of /proc/self/fd).
public func openDescriptors() -> Int {
    var count = 0
    guard let dir = opendir("/proc/self/fd") else { return -1 }
    while let entry = readdir(dir) {
        if entry.pointee.d_name.0 != 46 { count += 1 }  // skip "." and ".."
    }
    closedir(dir)
    return count - 1
}
