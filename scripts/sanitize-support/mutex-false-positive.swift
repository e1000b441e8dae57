// The false positive that tsan-suppressions.txt suppresses, shown: two threads take one lock in turn while the
// other waits for it, and check, with an atomic that TSan takes no ordering from, that they are never inside
// together (the check traps) and that no increment is lost. Run:
//   swiftc -sanitize=thread -g scripts/sanitize-support/mutex-false-positive.swift -o /tmp/mutex-fp
//   /tmp/mutex-fp          Synchronization.Mutex: exact count, and TSan reports a race on the value inside it
//   /tmp/mutex-fp pthread  a pthread mutex (which TSan intercepts): exact count, no report
import Foundation
import Synchronization

final class Box: @unchecked Sendable { var value = 0 }

final class PthreadLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    func withLock(_ body: () -> Void) {
        pthread_mutex_lock(&mutex)
        body()
        pthread_mutex_unlock(&mutex)
    }
}

let usePthread = CommandLine.arguments.dropFirst().first == "pthread"
let mutex = Mutex(())
let pthreadLock = PthreadLock()
let inside = Atomic<Int>(0)
let box = Box()
let rounds = 2_000

/// The critical section: one thread at a time, held a while now and then so the other one waits in the futex
/// (the Mutex's contended path).
@Sendable func critical() {
    precondition(inside.add(1, ordering: .relaxed).newValue == 1, "two threads inside")
    box.value += 1
    if box.value % 50 == 0 { usleep(200) }
    inside.subtract(1, ordering: .relaxed)
}

let group = DispatchGroup()
for _ in 0..<2 {
    group.enter()
    Thread.detachNewThread {
        for _ in 0..<rounds {
            if usePthread { pthreadLock.withLock(critical) } else { mutex.withLock { _ in critical() } }
        }
        group.leave()
    }
}
group.wait()
print("\(usePthread ? "pthread mutex" : "Synchronization.Mutex"): \(box.value) increments, expected \(2 * rounds)")
