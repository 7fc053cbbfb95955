import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import CanalWebSocketCore

struct TestTimeout: Error, CustomStringConvertible {
    var description: String
}

/// Polls until `condition` holds, at most `limit`.
func waitUntil(_ what: String, within limit: Duration = .seconds(10), _ condition: () -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    while !condition() {
        guard clock.now < deadline else { throw TestTimeout(description: "\(what) not seen within \(limit)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// A TCP client that writes bytes given by hand and collects what comes back.
final class RawSocket: Sendable {
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = NIOLockedValueBox<[UInt8]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLockedValue { $0 += buffer.readableBytesView }
        }
    }

    private let channel: Channel
    private let collector: Collector
    private let consumed = NIOLockedValueBox(0)

    private init(channel: Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(port: Int) async throws -> RawSocket {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawSocket(channel: channel, collector: collector)
    }

    func write(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    /// Sends an upgrade request and returns the response head.
    func handshake(extraHeader: String) async throws -> String {
        let request =
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(extraHeader)\r\n\r\n"
        try await write(Array(request.utf8))
        var end: Int?
        try await waitUntil("response head") {
            let bytes = collector.bytes.withLockedValue { $0 }
            end = Self.find([13, 10, 13, 10], in: bytes).map { $0 + 4 }
            return end != nil
        }
        consumed.withLockedValue { $0 = end! }
        return String(decoding: collector.bytes.withLockedValue { Array($0[..<end!]) }, as: UTF8.self)
    }

    /// The next whole frame from the server.
    func nextFrame() async throws -> (fin: Bool, rsv1: Bool, opcode: UInt8, payload: [UInt8]) {
        var found: (fin: Bool, rsv1: Bool, opcode: UInt8, payload: [UInt8], length: Int)?
        try await waitUntil("a frame") {
            let start = consumed.withLockedValue { $0 }
            let bytes = collector.bytes.withLockedValue { Array($0[start...]) }
            found = Self.frame(in: bytes)
            return found != nil
        }
        consumed.withLockedValue { $0 += found!.length }
        return (found!.fin, found!.rsv1, found!.opcode, found!.payload)
    }

    private static func frame(in bytes: [UInt8]) -> (
        fin: Bool, rsv1: Bool, opcode: UInt8, payload: [UInt8], length: Int
    )? {
        guard bytes.count >= 2 else { return nil }
        var length = Int(bytes[1] & 0x7F)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            offset = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = bytes[2..<10].reduce(0) { $0 << 8 | Int($1) }
            offset = 10
        }
        guard bytes.count >= offset + length else { return nil }
        return (
            bytes[0] & 0x80 != 0, bytes[0] & 0x40 != 0, bytes[0] & 0x0F, Array(bytes[offset..<offset + length]),
            offset + length
        )
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<$0 + needle.count]) == needle }
    }

    func close() {
        channel.close(promise: nil)
    }
}

/// A server that answers any upgrade with 101 and a chosen `Sec-WebSocket-Extensions`, then
/// closes cleanly when the client does: for checking what the client accepts.
final class FakeServer: Sendable {
    private final class Responder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let extensionsResponse: String?
        let afterResponse: [UInt8]?
        let head = NIOLockedValueBox<[UInt8]>([])
        let answered = NIOLockedValueBox(false)

        init(extensionsResponse: String?, afterResponse: [UInt8]?) {
            self.extensionsResponse = extensionsResponse
            self.afterResponse = afterResponse
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            if answered.withLockedValue({ $0 }) {
                // A close frame from the client: answer it and close.
                if buffer.readableBytesView.first.map({ $0 & 0x0F }) == 0x8 {
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: [0x88, 0x02, 0x03, 0xE8])), promise: nil)
                    context.close(promise: nil)
                }
                return
            }
            head.withLockedValue { $0 += buffer.readableBytesView }
            let text = String(decoding: head.withLockedValue { $0 }, as: UTF8.self)
            guard text.contains("\r\n\r\n") else { return }
            answered.withLockedValue { $0 = true }
            let key = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }!
                .dropFirst("sec-websocket-key:".count).trimmingCharacters(in: .whitespaces)
            var response =
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: \(WebSocketHandshake.acceptValue(forKey: key))\r\n"
            if let extensionsResponse { response += "Sec-WebSocket-Extensions: \(extensionsResponse)\r\n" }
            response += "\r\n"
            guard let afterResponse else {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response)), promise: nil)
                return
            }
            // The response, frames and the end of the connection in one segment.
            var bytes = ByteBuffer(string: response)
            bytes.writeBytes(afterResponse)
            context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in context.close(promise: nil) }
        }
    }

    private let channel: Channel
    private let responder: Responder
    let port: Int

    private init(channel: Channel, responder: Responder) {
        self.channel = channel
        self.responder = responder
        self.port = channel.localAddress!.port!
    }

    var requestHead: String { String(decoding: responder.head.withLockedValue { $0 }, as: UTF8.self) }

    static func start(extensionsResponse: String?, afterResponse: [UInt8]? = nil) async throws -> FakeServer {
        let responder = Responder(extensionsResponse: extensionsResponse, afterResponse: afterResponse)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(responder) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FakeServer(channel: channel, responder: responder)
    }

    func stop() {
        channel.close(promise: nil)
    }
}
