import CanalSocketIOCore
import NIOCore
import NIOPosix

/// Closure-scoped Socket.IO clients: the connection lives while the closure runs and
/// closes when it returns or throws (or its task is cancelled).
///
/// ```swift
/// try await SocketIOClient.connect(to: "http://127.0.0.1:3000") { socket, events in
///     try socket.emit("chat", "hello")
///     let rooms = try await socket.emitWithAck("join", "lobby", returning: [String].self)
///     for try await event in events where event.name == "chat" {
///         print(try event.decode(String.self))
///     }
/// }
/// ```
public enum SocketIOClient {
    /// Connects to one namespace, runs `body` with the socket and its events, then
    /// disconnects and closes the connection, and returns `body`'s result.
    ///
    /// `events` holds every event from the connection on (the first ones are not lost while
    /// `body` starts). With reconnection on, a lost connection is reopened while `body` runs.
    ///
    /// - Parameters:
    ///   - namespace: nil takes the URL's path (`http://host/admin` is `/admin`), else `/`.
    ///   - auth: the CONNECT payload (an object), as the server's middlewares see it.
    /// - Throws: `SocketIOClientError`: `.invalidURL`; `.refused` with the server's data;
    ///   `.connectionFailed` or `.timeout` when no connection could be made (after the
    ///   reconnection attempts, if any); and whatever `body` throws.
    public static func connect<Result: Sendable>(
        to url: String,
        namespace: String? = nil,
        auth: SocketIOValue? = nil,
        configuration: SocketIOClientConfiguration = SocketIOClientConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        isolation: isolated (any Actor)? = #isolation,
        body: (SocketIOClientSocket, SocketIOClientEvents) async throws -> Result
    ) async throws -> Result {
        try await withManager(url: url, configuration: configuration, eventLoopGroup: eventLoopGroup) { manager in
            let socket = manager.socket(namespace: namespace, auth: auth)
            // Subscribed before connecting, so that nothing the server sends at once is lost.
            let stream = socket.subscribers.subscribe(limit: configuration.incomingBufferLimit)
            socket.connect()
            var iterator = stream.makeAsyncIterator()
            var connected = false
            while !connected, let update = try await iterator.next() {
                if case .connected = update { connected = true }
                if let error = SocketIOClientEvents.connectFailure(update) { throw error }
            }
            guard connected else { throw CancellationError() }
            try Task.checkCancellation()
            return try await body(socket, SocketIOClientEvents(updates: stream))
        }
    }

    /// Makes a manager, runs `body` with it, and closes it when `body` returns or throws:
    /// for several namespaces over one connection in structured code.
    public static func withManager<Result: Sendable>(
        url: String,
        configuration: SocketIOClientConfiguration = SocketIOClientConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        isolation: isolated (any Actor)? = #isolation,
        body: (SocketIOManager) async throws -> Result
    ) async throws -> Result {
        let manager = try SocketIOManager(url: url, configuration: configuration, eventLoopGroup: eventLoopGroup)
        do {
            let result = try await body(manager)
            await manager.close()
            return result
        } catch {
            await manager.close()
            throw error
        }
    }
}
