import NIOConcurrencyHelpers
import NIOCore

/// The latest value of something that changes, numbered, for clients that poll: answer a
/// poll at once with `latest`, or hold a long poll with `next(after:timeout:)` until a
/// value newer than the client's arrives.
///
/// Use it for clients that cannot keep a stream open, or to compare techniques (the demo
/// dashboard). For pushing to browsers, an event stream or a WebSocket costs less: every
/// poll pays for a whole request and response.
///
/// ```swift
/// let readings = LongPollSource<String>()
/// router.get("/poll/next") { request in
///     let after = request.queryParameter("after").flatMap(UInt64.init) ?? 0
///     switch await readings.next(after: after, timeout: .seconds(25)) {
///     case .value(let version, let json): return .json(json)
///     case .timedOut: return HTTPResponse(status: .noContent)
///     case .tooManyWaiters: return .text("busy", status: .serviceUnavailable)
///     }
/// }
/// readings.publish(#"{"celsius":21.5}"#)
/// ```
public final class LongPollSource<Value: Sendable>: Sendable {
    /// What a long poll got.
    public enum Result: Sendable {
        /// A value newer than the client's, with its version.
        case value(version: UInt64, Value)
        /// Nothing newer arrived in time.
        case timedOut
        /// `maxWaiters` polls were already waiting; answer 503 and let the client retry.
        case tooManyWaiters
    }

    private struct Waiter {
        var continuation: CheckedContinuation<Result, Never>
        var timer: Task<Void, Never>
    }

    private struct State {
        var version: UInt64 = 0
        var value: Value?
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }

    /// The most polls held at once; beyond it `next` answers `.tooManyWaiters` at once.
    public let maxWaiters: Int
    private let state = NIOLockedValueBox(State())

    /// - Parameter maxWaiters: default 10,000.
    public init(maxWaiters: Int = 10_000) {
        self.maxWaiters = maxWaiters
    }

    /// The latest value and its version (1 for the first), or nil before the first.
    public var latest: (version: UInt64, value: Value)? {
        state.withLockedValue { state in state.value.map { (state.version, $0) } }
    }

    /// Polls held right now.
    public var waiterCount: Int { state.withLockedValue { $0.waiters.count } }

    /// Makes `value` the latest, wakes every waiting poll with it, and returns its version.
    @discardableResult
    public func publish(_ value: Value) -> UInt64 {
        let (version, waiters) = state.withLockedValue { state -> (UInt64, [Waiter]) in
            state.version += 1
            state.value = value
            defer { state.waiters.removeAll() }
            return (state.version, Array(state.waiters.values))
        }
        for waiter in waiters {
            waiter.timer.cancel()
            waiter.continuation.resume(returning: .value(version: version, value))
        }
        return version
    }

    /// The first value newer than `version`: at once if there is one, else when it is
    /// published, or `.timedOut` after `timeout`. Cancelling the task ends the wait with
    /// `.timedOut`.
    public func next(after version: UInt64, timeout: Duration) async -> Result {
        let id = state.withLockedValue { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result, Never>) in
                let cancelled = Task.isCancelled
                let immediate = state.withLockedValue { state -> Result? in
                    if let value = state.value, state.version > version { return .value(version: state.version, value) }
                    if cancelled { return .timedOut }
                    if state.waiters.count >= maxWaiters { return .tooManyWaiters }
                    let timer = Task { [weak self] in
                        do {
                            try await Task.sleep(for: timeout)
                        } catch {
                            return  // woken by a value
                        }
                        self?.expire(id)
                    }
                    state.waiters[id] = Waiter(continuation: continuation, timer: timer)
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            expire(id)
        }
    }

    /// Ends the wait of `id` with `.timedOut`, if it is still waiting.
    private func expire(_ id: UInt64) {
        guard let waiter = state.withLockedValue({ $0.waiters.removeValue(forKey: id) }) else { return }
        waiter.timer.cancel()
        waiter.continuation.resume(returning: .timedOut)
    }
}
