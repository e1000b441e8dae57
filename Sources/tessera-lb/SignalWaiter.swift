import Glibc
import Logging

/// Termination signals taken synchronously: blocked in every thread (so none runs a handler), then awaited
/// with sigwait on the main thread. No work happens in a signal handler.
struct SignalWaiter {
    private var set = sigset_t()

    /// Blocks SIGTERM and SIGINT; call before starting threads so they inherit the mask.
    static func blockTerminationSignals() -> SignalWaiter {
        var waiter = SignalWaiter()
        sigemptyset(&waiter.set)
        sigaddset(&waiter.set, SIGTERM)
        sigaddset(&waiter.set, SIGINT)
        pthread_sigmask(SIG_BLOCK, &waiter.set, nil)
        return waiter
    }

    /// Waits for SIGTERM or SIGINT; returns its name.
    func wait() -> String {
        var set = self.set
        var signal: Int32 = 0
        sigwait(&set, &signal)
        return signal == SIGTERM ? "SIGTERM" : "SIGINT"
    }
}

/// Human-readable log lines on standard output (containers collect stdout).
func bootstrapStdoutLogging(label: String) -> Logger {
    LoggingSystem.bootstrap { label in StreamLogHandler.standardOutput(label: label) }
    return Logger(label: label)
}
