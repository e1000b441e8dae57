import Glibc
import Logging

/// Signals taken synchronously: blocked in every thread (so none runs a handler), then awaited with sigwait.
/// No work happens in a signal handler.
struct SignalWaiter {
    private var set = sigset_t()

    /// Blocks SIGTERM and SIGINT; call before starting threads so they inherit the mask.
    static func blockTerminationSignals() -> SignalWaiter {
        block([SIGTERM, SIGINT])
    }

    /// Blocks SIGTERM, SIGINT and SIGHUP (reload); call before starting threads so they inherit the mask.
    static func blockTerminationAndReloadSignals() -> SignalWaiter {
        block([SIGTERM, SIGINT, SIGHUP])
    }

    private static func block(_ signals: [Int32]) -> SignalWaiter {
        var waiter = SignalWaiter()
        sigemptyset(&waiter.set)
        for signal in signals { sigaddset(&waiter.set, signal) }
        pthread_sigmask(SIG_BLOCK, &waiter.set, nil)
        return waiter
    }

    /// Waits for one of the blocked signals; returns its name (`SIGTERM`, `SIGINT`, `SIGHUP`).
    func wait() -> String {
        var set = self.set
        var signal: Int32 = 0
        sigwait(&set, &signal)
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "SIGINT"
        }
    }

    /// Waits for SIGTERM or SIGINT, handing each SIGHUP that comes first to `reload`.
    func waitForTermination(reload: (String) -> Void) -> String {
        while true {
            let signal = wait()
            if signal != "SIGHUP" { return signal }
            reload(signal)
        }
    }
}

/// Human-readable log lines on standard output (containers collect stdout).
func bootstrapStdoutLogging(label: String) -> Logger {
    LoggingSystem.bootstrap { label in StreamLogHandler.standardOutput(label: label) }
    return Logger(label: label)
}
