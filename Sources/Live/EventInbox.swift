import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Outcomes posted from the render thread, collected by the thread that owns the session.
///
/// Every post also writes a byte to a pipe, so a front end can sleep in `poll()` on the terminal
/// and `wakeDescriptor` together and wake the moment a picture is ready, without polling on a
/// timer (which would add its period to every keystroke's latency).
public final class EventInbox<Event: Sendable>: @unchecked Sendable {
    /// Readable whenever events are waiting.
    public let wakeDescriptor: Int32
    private let writeDescriptor: Int32
    private let lock = NSLock()
    private var events: [Event] = []

    public init() {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { fatalError("pipe() failed: \(String(cString: strerror(errno)))") }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        wakeDescriptor = ends[0]
        writeDescriptor = ends[1]
    }

    deinit {
        close(wakeDescriptor)
        close(writeDescriptor)
    }

    public func post(_ event: Event) {
        lock.withLock { events.append(event) }
        var byte: UInt8 = 1
        // A full pipe already wakes the reader; the event itself is in `events` either way.
        _ = write(writeDescriptor, &byte, 1)
    }

    /// Everything posted so far, oldest first.
    public func drain() -> [Event] {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(wakeDescriptor, &buffer, buffer.count) > 0 {}
        return lock.withLock {
            defer { events = [] }
            return events
        }
    }

    /// Sleeps until something is posted or `timeout` seconds pass (nil: no limit).
    public func wait(timeout: Double?) {
        var descriptor = pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, timeout.map { Int32(max(0, ($0 * 1000).rounded(.up))) } ?? -1)
    }
}
