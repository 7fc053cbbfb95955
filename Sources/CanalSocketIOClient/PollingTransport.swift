import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Engine.IO long-polling requests through async-http-client: one GET waiting for packets,
/// one POST carrying them, each a plain HTTP/1.1 request with the configured headers.
struct PollingTransport: Sendable {
    let client: HTTPClient
    let headers: HTTPHeaders
    let maxPayloadBytes: Int

    /// A long-polling GET: the body, up to `maxPayloadBytes`.
    func get(_ url: String, timeout: TimeAmount) async throws -> ByteBuffer {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers = headers
        let response = try await client.execute(request, timeout: timeout)
        guard response.status == .ok else { throw await Self.failure(response) }
        do {
            return try await response.body.collect(upTo: maxPayloadBytes)
        } catch is NIOTooManyBytesError {
            throw PollingError.tooLarge(maxPayloadBytes)
        }
    }

    /// A long-polling POST with a payload of packets.
    func post(_ url: String, body: ByteBuffer, timeout: TimeAmount) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        // What engine.io-client sends: the payload is text, binary packets in base64.
        request.headers.replaceOrAdd(name: "Content-Type", value: "text/plain;charset=UTF-8")
        request.body = .bytes(body)
        let response = try await client.execute(request, timeout: timeout)
        guard response.status == .ok else { throw await Self.failure(response) }
        _ = try await response.body.collect(upTo: 64 * 1024)
    }

    private static func failure(_ response: HTTPClientResponse) async -> PollingError {
        let body = (try? await response.body.collect(upTo: 1024)).map { String(buffer: $0) } ?? ""
        return .status(response.status, body: body)
    }
}

/// Why a polling request failed, for error messages.
enum PollingError: Error, CustomStringConvertible {
    case status(HTTPResponseStatus, body: String)
    case tooLarge(Int)

    var description: String {
        switch self {
        case .status(let status, let body):
            let excerpt = body.split(whereSeparator: \.isNewline).joined(separator: " ")
            let text = "HTTP \(status.code) \(status.reasonPhrase)"
            return excerpt.isEmpty ? text : "\(text): \(excerpt.prefix(200))"
        case .tooLarge(let limit):
            return "a polling response is over the \(limit)-byte limit"
        }
    }

    var isTooLarge: Bool {
        if case .tooLarge = self { return true }
        return false
    }
}
