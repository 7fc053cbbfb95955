import CanalWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// Helpers shared by the loopback tests: a time bound for every wait, a server that is always
// shut down, and small readers for what a connection saw.

// MARK: - Time bounds

struct TimeoutError: Error, CustomStringConvertible {
    var description: String
}

/// Runs `operation`, throwing `TimeoutError` once `limit` passes.
///
/// The operation is cancelled then but not awaited: a test stays bounded even when what it
/// waits for ignores cancellation (an `EventLoopFuture`, a stuck NIO stream).
func withTimeout<T: Sendable>(
    _ limit: Duration = .seconds(10),
    _ what: String = "operation",
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let pending = NIOLockedValueBox<CheckedContinuation<T, any Error>?>(nil)
    let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])
    return try await withCheckedThrowingContinuation { continuation in
        pending.withLockedValue { $0 = continuation }
        let take = { @Sendable () -> CheckedContinuation<T, any Error>? in
            pending.withLockedValue { value in
                defer { value = nil }
                return value
            }
        }
        let work = Task {
            do {
                let value = try await operation()
                take()?.resume(returning: value)
            } catch {
                take()?.resume(throwing: error)
            }
            for task in tasks.withLockedValue({ $0 }) { task.cancel() }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            guard !Task.isCancelled, let continuation = take() else { return }
            work.cancel()
            continuation.resume(throwing: TimeoutError(description: "\(what) did not finish within \(limit)"))
        }
        tasks.withLockedValue { $0.append(timer) }
    }
}

/// Waits for an event-loop future, at most `limit`.
func value<T: Sendable>(
    of future: EventLoopFuture<T>,
    within limit: Duration = .seconds(10),
    _ what: String = "future"
) async throws -> T {
    try await withTimeout(limit, what) { try await future.get() }
}

/// Polls `condition` every few milliseconds until it holds, at most `limit`.
func waitUntil(
    _ what: String,
    within limit: Duration = .seconds(20),
    _ condition: @Sendable () -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    while !condition() {
        guard clock.now < deadline else { throw TimeoutError(description: "\(what): not seen within \(limit)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

// MARK: - Server

/// Keeps "listening on" lines out of the test output; set CANAL_TEST_LOG=debug to see more.
let quietLogger: Logger = {
    var logger = Logger(label: "canal.test")
    let level = ProcessInfo.processInfo.environment["CANAL_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) }
    logger.logLevel = level ?? .warning
    return logger
}()

extension WebSocketServerConfiguration {
    /// Short timeouts, so that a test that goes wrong fails fast instead of waiting 10 s.
    static var testing: WebSocketServerConfiguration {
        var configuration = WebSocketServerConfiguration()
        configuration.timeouts.closeTimeout = .seconds(2)
        configuration.shutdownTimeout = .seconds(3)
        configuration.requestHeadTimeout = .seconds(5)
        return configuration
    }
}

/// A running server on 127.0.0.1 with a port chosen by the system.
struct TestServer: Sendable {
    let server: WebSocketServer
    let runTask: Task<Void, any Error>

    var port: Int { server.localAddress.port! }
    var url: String { "ws://127.0.0.1:\(port)/" }

    /// Shuts the server down and waits (bounded) for `run()` to return.
    func stop(within limit: Duration = .seconds(10)) async throws {
        server.shutdown()
        let runTask = self.runTask
        try await withTimeout(limit, "server run() after shutdown") { try await runTask.value }
    }
}

/// The raw test peers' event loops, apart from NIO's singleton (one thread per core), which
/// the clients under test share: a test that keeps a loop busy (a large echo in a debug
/// build) must not hold up the bytes and timers that another test measures.
let rawPeerGroup = MultiThreadedEventLoopGroup(numberOfThreads: 4)

/// Binds a server on an event loop of its own (see `rawPeerGroup`), runs `body` with it
/// (bounded by `limit`), then always shuts the server down.
@discardableResult
func withServer<T: Sendable>(
    configuration: WebSocketServerConfiguration = .testing,
    shouldUpgrade: @escaping @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision = { _ in .accept },
    handler: WebSocketServerHandler,
    within limit: Duration = .seconds(60),
    _ body: @escaping @Sendable (TestServer) async throws -> T
) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { group.shutdownGracefully { _ in } }
    let server = try await WebSocketServer.bind(
        host: "127.0.0.1",
        port: 0,
        configuration: configuration,
        eventLoopGroup: group,
        logger: quietLogger,
        shouldUpgrade: shouldUpgrade,
        handler: handler
    )
    let running = TestServer(server: server, runTask: Task { try await server.run() })
    let result: T
    do {
        result = try await withTimeout(limit, "test body") { try await body(running) }
    } catch {
        try? await running.stop()
        throw error
    }
    try await running.stop()
    return result
}

/// Echoes every message back, from an async handler.
let asyncEcho = WebSocketServerHandler.async { inbound, outbound, _ in
    for try await message in inbound.messages {
        try await outbound.send(message)
    }
}

/// Echoes every message back, on the event loop.
let eventLoopEcho = WebSocketServerHandler.eventLoop { _ in
    { event, socket in
        if case .message(let message) = event { socket.send(message) }
    }
}

// MARK: - Reading a connection

/// Reads events until the sequence ends (the connection closed).
func allEvents(_ inbound: WebSocketInbound) async throws -> [WebSocketEvent] {
    var events: [WebSocketEvent] = []
    for try await event in inbound { events.append(event) }
    return events
}

/// The next message, skipping pings and pongs; nil if the connection closed first.
func nextMessage(_ iterator: inout WebSocketInbound.AsyncIterator) async throws -> WebSocketMessage? {
    while let event = try await iterator.next() {
        if case .message(let message) = event { return message }
    }
    return nil
}

extension [WebSocketEvent] {
    /// The peer's close frame, if one arrived.
    var closeReceived: (code: WebSocketCloseCode?, reason: String)? {
        for event in self {
            if case .closeReceived(let code, let reason) = event { return (code, reason) }
        }
        return nil
    }

    /// The final status, if the sequence got that far.
    var closedStatus: WebSocketCloseStatus? {
        for event in self {
            if case .closed(let status) = event { return status }
        }
        return nil
    }

    var messages: [WebSocketMessage] {
        compactMap { event in
            if case .message(let message) = event { return message }
            return nil
        }
    }
}

/// A value filled in by one task and read by another.
final class Recorder<Value: Sendable>: Sendable {
    private let box: NIOLockedValueBox<Value>

    init(_ initial: Value) {
        box = NIOLockedValueBox(initial)
    }

    var value: Value { box.withLockedValue { $0 } }

    func update(_ change: (inout Value) -> Void) {
        box.withLockedValue { change(&$0) }
    }
}

/// `count` bytes of a pattern with a period of 65,521 (a prime), so that a lost or
/// reordered chunk shows. Built by copying one block: byte loops are slow in debug builds.
func patternBytes(_ count: Int) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.reserveCapacity(count)
    while buffer.readableBytes < count {
        buffer.writeBytes(patternBlock.prefix(count - buffer.readableBytes))
    }
    return buffer
}

private let patternBlock: [UInt8] = (0..<65_521).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
