import Foundation

/// A task executor backed by one thread of its own, for the probe loop: its tasks (the waits between probes,
/// the handling of each answer) run there, so a cooperative pool whose threads are all busy or blocked
/// elsewhere in the process cannot hold a probe back, and a node is taken out on time regardless.
final class ProbeThread: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopping = false

    init(name: String) {
        let thread = Thread { [self] in runJobs() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.withLock {
            jobs.append(job)
            condition.signal()
        }
    }

    /// Lets the thread end once the jobs queued so far have run.
    func stop() {
        condition.withLock {
            stopping = true
            condition.signal()
        }
    }

    private func runJobs() {
        while true {
            let batch: [UnownedJob] = condition.withLock {
                while jobs.isEmpty && !stopping { condition.wait() }
                defer { jobs = [] }
                return jobs
            }
            if batch.isEmpty { return }
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}
