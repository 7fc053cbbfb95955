import CanalHTTP
import NIOCore
import NIOPosix

/// Decodes a chunked body (RFC 9112 §7.1) as far as it has arrived.
struct ChunkedBody {
    var data: [UInt8] = []
    /// The last chunk (size 0) has arrived.
    var ended = false
    /// Bytes after the end of the body (the next response).
    var rest: [UInt8] = []

    init(_ bytes: some Collection<UInt8>) {
        var bytes = Array(bytes)
        while true {
            guard let lineEnd = bytes.firstIndex(of: 0x0A), lineEnd > 0 else { return }
            let sizeText = String(decoding: bytes[..<(lineEnd - 1)], as: UTF8.self)
            guard let size = Int(sizeText, radix: 16) else { return }
            let start = lineEnd + 1
            guard bytes.count >= start + size + 2 else { return }
            if size == 0 {
                ended = true
                rest = Array(bytes[(start + 2)...])
                return
            }
            data += bytes[start..<(start + size)]
            bytes.removeFirst(start + size + 2)
        }
    }

    var text: String { String(decoding: data, as: UTF8.self) }
}

extension RawConnection {
    /// The head of the first response and its chunked body so far, once `condition` holds.
    func stream(
        within limit: Duration = .seconds(20),
        until condition: (WireResponse, ChunkedBody) -> Bool
    ) async throws -> (WireResponse, ChunkedBody) {
        let deadline = ContinuousClock.now + limit
        while true {
            let received = bytes
            let separator: [UInt8] = [13, 10, 13, 10]
            if let end = received.indices.first(where: { received[$0...].starts(with: separator) }),
                let (head, _) = WireResponse.parse(Array(received[..<(end + 4)]), bodyless: true)
            {
                let body = ChunkedBody(received[(end + 4)...])
                if condition(head, body) { return (head, body) }
            }
            if ContinuousClock.now >= deadline || isClosed {
                throw TimedOut(what: "stream condition (\(received.count) bytes: \(String(decoding: received.suffix(300), as: UTF8.self)))")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// Starts a server with `router` on 127.0.0.1:0, runs `body`, and shuts it down.
func withEventStreamServer(
    _ router: HTTPRouter,
    configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
    _ body: @escaping @Sendable (HTTPServer) async throws -> Void
) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { group.shutdownGracefully { _ in } }
    let server = try await HTTPServer.bind(
        host: "127.0.0.1", port: 0, router: router, configuration: configuration, eventLoopGroup: group,
        accessLogger: nil)
    let running = Task { try await server.run() }
    do {
        try await withTimeout(.seconds(60), "test body") { try await body(server) }
    } catch {
        server.shutdown()
        throw error
    }
    server.shutdown()
    try await withTimeout(.seconds(15), "shutdown") { try await running.value }
}
