import Glibc
import Logging

/// Blocks `signals` in the calling thread, and so in every thread it starts afterwards (they inherit the mask):
/// none runs a default action or a handler for them; they stay pending until they are waited for. Call before
/// starting threads.
func blockSignals(_ signals: [Int32]) {
    var set = sigset_t()
    sigemptyset(&set)
    for signal in signals { sigaddset(&set, signal) }
    pthread_sigmask(SIG_BLOCK, &set, nil)
}

/// SIGTERM and SIGINT taken synchronously, for the commands that only wait for them (`stand-in`, `demo`):
/// blocked in every thread, then awaited with sigwait. No work happens in a signal handler.
struct SignalWaiter {
    /// Blocks SIGTERM and SIGINT; call before starting threads so they inherit the mask.
    static func blockTerminationSignals() -> SignalWaiter {
        blockSignals([SIGTERM, SIGINT])
        return SignalWaiter()
    }

    /// Waits for SIGTERM or SIGINT; returns its name.
    func wait() -> String {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
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
