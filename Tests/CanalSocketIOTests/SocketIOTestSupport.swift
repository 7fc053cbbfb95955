import CanalEngineIO
import CanalEngineIOCore
import CanalHTTP
import CanalSocketIO
import CanalSocketIOCore
import CanalWebSocket
import NIOCore
import NIOPosix
import Testing

/// Runs `body` with a server on 127.0.0.1:0 whose Socket.IO server `configure` set up.
func withSocketIOServer(
    options: SocketIOServerOptions = SocketIOServerOptions(),
    configure: (SocketIOServer) throws -> Void,
    _ body: @escaping @Sendable (Int, SocketIOServer) async throws -> Void
) async throws {
    let io = SocketIOServer(options: options)
    try configure(io)
    var router = HTTPRouter()
    io.install(on: &router)
    let server = try await HTTPServer.bind(host: "127.0.0.1", port: 0, router: router, accessLogger: nil)
    let running = Task { try await server.run() }
    let port = server.localAddress.port!
    defer {
        io.close()
        server.shutdown()
    }
    try await withTimeout(.seconds(30)) { try await body(port, io) }
    io.close()
    server.shutdown()
    try await withTimeout(.seconds(15)) { try await running.value }
}

/// A raw Engine.IO/Socket.IO client over WebSocket: writes and reads packets as text.
///
/// Thread safety: each test reads it from one task at a time (a test's steps are
/// sequential), which is what the unchecked conformance relies on.
final class RawSocketIO: @unchecked Sendable {
    let inbound: WebSocketInbound
    let outbound: WebSocketOutbound
    private var messages: WebSocketInbound.Messages.AsyncIterator

    init(inbound: WebSocketInbound, outbound: WebSocketOutbound) {
        self.inbound = inbound
        self.outbound = outbound
        self.messages = inbound.messages.makeAsyncIterator()
    }

    /// The next message that is not an Engine.IO ping (pings are answered).
    func next() async throws -> WebSocketMessage? {
        while let message = try await messages.next() {
            if message.text == "2" {
                try await outbound.send(text: "3")
                continue
            }
            return message
        }
        return nil
    }

    func nextText() async throws -> String? {
        try await next()?.text
    }

    func send(_ text: String) async throws {
        try await outbound.send(text: text)
    }

    /// Reads the open packet, connects to `namespace`, and returns the CONNECT answer.
    func handshake(namespace: String = "/", auth: String? = nil) async throws -> String {
        let open = try #require(try await nextText())
        #expect(open.hasPrefix("0{\"sid\":"))
        let prefix = namespace == "/" ? "40" : "40\(namespace),"
        try await send(prefix + (auth ?? ""))
        return try #require(try await nextText())
    }
}

func withRawClient<T: Sendable>(
    port: Int, query: String = "EIO=4&transport=websocket",
    _ body: @escaping @Sendable (RawSocketIO) async throws -> T
) async throws -> T {
    try await WebSocketClient.connect(to: "ws://127.0.0.1:\(port)/socket.io/?\(query)") { inbound, outbound, _ in
        try await body(RawSocketIO(inbound: inbound, outbound: outbound))
    }
}

func withTimeout<T: Sendable>(
    _ limit: Duration, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw CancellationError()
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}

/// The JSON object inside a CONNECT answer such as `40{"sid":"x"}`.
func connectAnswer(_ text: String, namespace: String = "/") throws -> SocketIOValue {
    let prefix = namespace == "/" ? "40" : "40\(namespace),"
    #expect(text.hasPrefix(prefix))
    return try SocketIOJSON.parse(String(text.dropFirst(prefix.count)))
}
