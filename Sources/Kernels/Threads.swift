import CBLAS
import Dispatch
import Foundation

/// The one knob for parallelism: how many threads our loops (GEMMs included) use.
///
/// OpenBLAS itself always runs on one thread and `gemm` splits its work across ours, so there is
/// one pool of threads: two pools (ours and OpenBLAS's, whose idle threads spin between calls)
/// oversubscribed the cores.
public enum Threads {
    /// First use puts OpenBLAS on one thread, so that holds wherever `configure` is never called
    /// (tests, other front ends); `gemm` reads `count` before every multiply.
    nonisolated(unsafe) private static var current: Int = {
        openblas_set_num_threads(1)
        return defaultCount()
    }()

    /// `IMAGINE_THREADS` when set to a positive integer, else every core.
    public static func defaultCount() -> Int {
        if let text = ProcessInfo.processInfo.environment["IMAGINE_THREADS"],
           let n = Int(text), n > 0 {
            return n
        }
        return ProcessInfo.processInfo.activeProcessorCount
    }

    public static var count: Int { current }

    /// Sets the thread count for our loops (GEMMs included). Call before work starts.
    public static func configure(_ n: Int) {
        precondition(n > 0, "thread count must be positive, got \(n)")
        current = n
    }

    /// Applies the default (environment or core count).
    public static func configureDefault() { configure(defaultCount()) }
}

/// Runs `body` over `0..<count` split into at most `Threads.count` contiguous chunks.
///
/// Chunks are contiguous so each thread streams through its own memory. Small loops
/// (`count < minimumPerThread * 2`) run inline: a dispatch costs ~1 µs.
@inlinable
public func parallelFor(_ count: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
    let chunks = min(Threads.count, max(1, count / max(1, minimumPerThread)))
    if chunks <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = count * chunk / chunks
            let end = count * (chunk + 1) / chunks
            box.value(start..<end)
        }
    }
}

/// Carries a non-Sendable value into `concurrentPerform`. Safe here because each chunk touches a
/// disjoint range of the buffers its closure captures; this wrapper is the one place that says so.
@usableFromInline
struct UncheckedSendable<T>: @unchecked Sendable {
    @usableFromInline let value: T
    @usableFromInline init(_ value: T) { self.value = value }
}
