import CShims

/// Process-wide settings and readings the balancer needs before any socket exists.
public enum ProcessSetup {
    /// Ignores SIGPIPE for the whole process. splice(2) has no MSG_NOSIGNAL, so without this a splice into a
    /// peer that has reset kills the process. The corresponding C call is `signal(SIGPIPE, SIG_IGN)`.
    public static func ignoreSIGPIPE() {
        _ = cshims_ignore_sigpipe()
    }

    /// The number of descriptors this process has open, from /proc/self/fd.
    public static func openDescriptorCount() -> Int {
        Int(cshims_count_open_fds())
    }

}

/// Monotonic time for timers on the data path.
public enum MonotonicClock {
    /// Coarse monotonic milliseconds (CLOCK_MONOTONIC_COARSE: a few ms of resolution, no syscall).
    @inline(__always)
    public static func nowMilliseconds() -> Int64 { cshims_now_ms() }

    /// Precise monotonic nanoseconds (CLOCK_MONOTONIC).
    @inline(__always)
    public static func nowNanoseconds() -> Int64 { cshims_now_ns() }
}
