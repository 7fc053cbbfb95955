import NIOConcurrencyHelpers
import NIOCore

/// A message to send to many connections, framed (and compressed) once for all of them.
///
/// Use it for broadcasts: make one per message, then send `message` on every server
/// connection the usual way (any `send` that takes a `WebSocketMessage`). The first
/// connection to send it builds the frames; every connection whose negotiated settings
/// give the same bytes reuses them, so a broadcast to N receivers costs one compression
/// and N writes of the same buffer.
///
/// Connections share an encoding when the bytes cannot depend on the connection's own
/// history: always for uncompressed messages, and for permessage-deflate only when the
/// sending side has no context takeover (`server_no_context_takeover`, Canal's default).
/// A connection that keeps a compression context compresses the message itself, as it
/// would any other; so does every client, whose frames need a fresh mask each.
///
/// ```swift
/// let update = WebSocketPreEncodedMessage(.text(json))
/// for socket in room { socket.send(update.message) }
/// ```
public struct WebSocketPreEncodedMessage: Sendable {
    /// The message, carrying the shared frames. Changing it drops them.
    public let message: WebSocketMessage

    public init(_ message: WebSocketMessage) {
        var message = message
        message.encodings = WebSocketEncodingCache()
        self.message = message
    }

    /// How many distinct encodings were built so far (one per distinct setting).
    public var encodingCount: Int {
        message.encodings?.count ?? 0
    }
}

/// The frames built for one message, keyed by everything that shapes them (the extension's
/// settings and the fragment size). Shared across event loops, hence the lock; the frames
/// are built under it so that each is built once.
final class WebSocketEncodingCache: Sendable {
    private let frames = NIOLockedValueBox<[String: ByteBuffer]>([:])

    var count: Int {
        frames.withLockedValue { $0.count }
    }

    func frames(for key: String, build: () -> ByteBuffer) -> ByteBuffer {
        frames.withLockedValue { cache in
            if let hit = cache[key] { return hit }
            let built = build()
            cache[key] = built
            return built
        }
    }
}
