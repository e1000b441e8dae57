import NIOCore
import NIOPosix

/// Waits `milliseconds` on NIO's shared event loops, or less if the task is cancelled.
///
/// Not `Task.sleep`: its first use has libdispatch open a timerfd, and when the balancer stops, clients may hold
/// every descriptor (the timer would then never fire). NIO's loops have theirs from before the listeners opened.
public func pause(milliseconds: Int) async {
    let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .milliseconds(Int64(milliseconds))) {}
    await withTaskCancellationHandler {
        _ = try? await timer.futureResult.get()
    } onCancel: {
        timer.cancel()
    }
}
