import CanalWebSocket
import Testing

#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
private func closeSocket(_ descriptor: Int32) { _ = Glibc.close(descriptor) }
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
private func closeSocket(_ descriptor: Int32) { _ = Darwin.close(descriptor) }
#endif

/// How `WebSocketClient.connect` fails when there is no WebSocket to talk to.
@Suite(.timeLimit(.minutes(1)))
struct ClientConnectFailureTests {
    /// Runs in a child process, so that a crash fails only this test: a refused TCP connect
    /// once crashed debug builds with "leaking promise" (the handshake promise was never
    /// completed). The child only exits non-zero on a crash; the expectations are checked in
    /// this process by the test below.
    @Test
    func clientConnectsToClosedPortDoesNotCrash() async {
        await #expect(processExitsWith: .success) {
            guard let refusing = try? closedPort() else { return }
            defer { refusing.close() }
            _ = try? await withTimeout(.seconds(10), "connect") {
                try await WebSocketClient.connect(to: "ws://127.0.0.1:\(refusing.port)/") { _, _, _ in }
            }
            // The failed channel is released by now, which is when a leaked promise traps.
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    @Test
    func clientConnectsToClosedPortGetsConnectionFailed() async throws {
        let refusing = try closedPort()
        defer { refusing.close() }
        await #expect {
            try await withTimeout(.seconds(10), "connect") {
                try await WebSocketClient.connect(to: "ws://127.0.0.1:\(refusing.port)/") { _, _, _ in }
            }
        } throws: { error in
            (error as? WebSocketClientError)?.kind == .connectionFailed
        }
    }

    @Test
    func serverDropsConnectionDuringHandshakeClientFailsPromptly() async throws {
        let server = try await RawServer.start(.silent)
        var configuration = WebSocketClientConfiguration()
        configuration.handshakeTimeout = .seconds(30)
        let client = configuration
        let url = "ws://127.0.0.1:\(server.port)/"
        let attempt = Task {
            try await withTimeout(.seconds(40), "connect") {
                try await WebSocketClient.connect(to: url, configuration: client) { _, _, _ in }
            }
        }
        // Closing only once the request is read makes the close a clean FIN, not a reset.
        try await waitUntil("server read the request") { server.requestCount == 1 }
        try await server.stop()
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = try await withTimeout(.seconds(20), "handshake failure after the server closed") {
            await attempt.result
        }
        #expect(clock.now - start < .seconds(10), "the 30 s handshake timeout would be later")
        switch outcome {
        case .success:
            Issue.record("the handshake cannot succeed")
        case .failure(let error):
            #expect((error as? WebSocketClientError)?.kind == .handshakeFailed)
        }
        attempt.cancel()
    }

    @Test
    func clientConnectsToPlainHTTPPathGets404() async throws {
        // A server on which every upgrade is refused with 404 behaves like a plain HTTP server.
        let shouldUpgrade: @Sendable (WebSocketUpgradeRequest) -> WebSocketUpgradeDecision = { _ in
            .reject(WebSocketHandshakeRejection(status: .notFound))
        }
        try await withServer(shouldUpgrade: shouldUpgrade, handler: asyncEcho) { server in
            await #expect {
                try await WebSocketClient.connect(to: server.url) { _, _, _ in }
            } throws: { error in
                (error as? WebSocketClientError)?.status == .notFound
            }
        }
    }
}

/// A port on 127.0.0.1 with nothing listening (bound once, then released).
/// A port on 127.0.0.1 that refuses connections until `close()`: a socket bound to it
/// that never listens. Holding the port keeps a server that another test binds to port 0
/// meanwhile from taking it (a port merely freed could be, and then a "refused" connect
/// would reach that server).
final class RefusingPort: Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, streamSocket, 0)
        guard descriptor >= 0 else { throw SocketError(call: "socket", errno: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(descriptor, address, length) == 0 && getsockname(descriptor, address, &length) == 0
            }
        }
        guard bound else {
            let failure = SocketError(call: "bind", errno: errno)
            closeSocket(descriptor)
            throw failure
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { closeSocket(descriptor) }
}

struct SocketError: Error {
    var call: String
    var errno: Int32
}

func closedPort() throws -> RefusingPort { try RefusingPort() }
