import CanalWebSocket
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

// Peers that speak bytes, not WebSocket: they show exactly what our endpoints put on the wire
// and let a test misbehave in ways our own client never would.

// MARK: - Raw client

/// A TCP client that records every byte it receives and whether the connection ended.
final class RawClient: Sendable {
    private struct Received {
        var bytes: [UInt8] = []
        var closed = false
        var closedAt: ContinuousClock.Instant?
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: NIOLockedValueBox<Received>

        init(_ received: NIOLockedValueBox<Received>) {
            self.received = received
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLockedValue { $0.bytes.append(contentsOf: buffer.readableBytesView) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            received.withLockedValue {
                $0.closed = true
                $0.closedAt = .now
            }
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    let channel: any Channel
    private let received: NIOLockedValueBox<Received>

    private init(channel: any Channel, received: NIOLockedValueBox<Received>) {
        self.channel = channel
        self.received = received
    }

    /// Connects to 127.0.0.1:`port`. A FIN from the server ends the connection (no half-closure).
    static func connect(port: Int) async throws -> RawClient {
        let received = NIOLockedValueBox(Received())
        let channel = try await withTimeout(.seconds(5), "raw connect") {
            try await ClientBootstrap(group: rawPeerGroup)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Collector(received))
                    }
                }
                .connect(host: "127.0.0.1", port: port)
                .get()
        }
        return RawClient(channel: channel, received: received)
    }

    /// Everything received so far.
    var bytes: [UInt8] { received.withLockedValue { $0.bytes } }
    var isClosed: Bool { received.withLockedValue { $0.closed } }
    var closedAt: ContinuousClock.Instant? { received.withLockedValue { $0.closedAt } }

    func write(_ bytes: [UInt8]) async throws {
        let channel = self.channel
        try await withTimeout(.seconds(5), "raw write") {
            try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
        }
    }

    func write(_ text: String) async throws {
        try await write(Array(text.utf8))
    }

    /// Waits until `condition` holds for the bytes received (and whether the connection ended).
    func wait(
        _ what: String,
        within limit: Duration = .seconds(20),
        until condition: @escaping @Sendable ([UInt8], Bool) -> Bool
    ) async throws {
        let received = self.received
        try await waitUntil(what, within: limit) {
            received.withLockedValue { condition($0.bytes, $0.closed) }
        }
    }

    /// Waits for the server to end the connection.
    func waitForClose(within limit: Duration = .seconds(20)) async throws {
        try await wait("connection closed", within: limit) { _, closed in closed }
    }

    /// Waits for a whole HTTP response starting at byte `offset`.
    func readResponse(from offset: Int = 0, within limit: Duration = .seconds(20)) async throws -> HTTPResponse {
        try await wait("HTTP response", within: limit) { bytes, _ in
            HTTPResponse.parse(bytes, from: offset) != nil
        }
        return HTTPResponse.parse(bytes, from: offset)!
    }

    /// Performs a valid opening handshake and returns the 101 response.
    func handshake(path: String = "/") async throws -> HTTPResponse {
        try await write(upgradeRequest(path: path))
        let response = try await readResponse()
        #expect(response.status == 101)
        #expect(response.header("Sec-WebSocket-Accept") == sampleAccept)
        return response
    }

    /// Frames received after the first `offset` bytes (the handshake response).
    func frames(after offset: Int) -> (frames: [RawFrame], rest: Int) {
        RawFrame.parseAll(Array(bytes.dropFirst(offset)))
    }

    func close() {
        channel.close(promise: nil)
    }
}

// MARK: - HTTP

/// The key of RFC 6455 §1.3's example and its accept value.
let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="
let sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/// A valid upgrade request, with extra header lines and a chosen version.
func upgradeRequest(path: String = "/", version: String = "13", extraHeaders: [String] = []) -> String {
    var lines = [
        "GET \(path) HTTP/1.1",
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: \(sampleKey)",
        "Sec-WebSocket-Version: \(version)",
    ]
    lines += extraHeaders
    return lines.joined(separator: "\r\n") + "\r\n\r\n"
}

/// A parsed HTTP/1.1 response with a `Content-Length` body (or none).
struct HTTPResponse: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// Bytes the response took, head and body.
    var length: Int

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Nil until the whole response is in `bytes`.
    static func parse(_ bytes: [UInt8], from offset: Int = 0) -> HTTPResponse? {
        let terminator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= offset + 4 else { return nil }
        var end: Int?
        for index in offset...(bytes.count - 4) where bytes[index..<(index + 4)].elementsEqual(terminator) {
            end = index
            break
        }
        guard let headEnd = end else { return nil }
        let head = String(decoding: bytes[offset..<headEnd], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            return (String(line[..<colon]), String(value))
        }
        var response = HTTPResponse(status: status, headers: headers, body: [], length: headEnd + 4 - offset)
        let bodyLength = response.header("Content-Length").flatMap { Int($0) } ?? 0
        guard bytes.count >= headEnd + 4 + bodyLength else { return nil }
        response.body = Array(bytes[(headEnd + 4)..<(headEnd + 4 + bodyLength)])
        response.length += bodyLength
        return response
    }
}

// MARK: - Frames

/// One frame as a raw peer sees it (RFC 6455 §5.2), encoded and decoded here by hand.
struct RawFrame: Sendable, Equatable {
    var fin: Bool = true
    var opcode: UInt8
    var payload: [UInt8]

    /// The close code of a close frame.
    var closeCode: UInt16? {
        guard opcode == 0x8, payload.count >= 2 else { return nil }
        return UInt16(payload[0]) << 8 | UInt16(payload[1])
    }

    var text: String { String(decoding: payload, as: UTF8.self) }

    /// The frame's bytes, masked with `key` (a client's) or unmasked (a server's, or a broken client).
    static func encode(opcode: UInt8, payload: [UInt8], fin: Bool = true, mask key: [UInt8]? = [0x37, 0xFA, 0x21, 0x3D])
        -> [UInt8]
    {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let maskBit: UInt8 = key == nil ? 0 : 0x80
        switch payload.count {
        case 0..<126:
            bytes.append(maskBit | UInt8(payload.count))
        case 126...0xFFFF:
            bytes.append(maskBit | 126)
            bytes += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default:
            bytes.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((payload.count >> shift) & 0xFF)) }
        }
        if let key {
            bytes += key
            bytes += payload.enumerated().map { $0.element ^ key[$0.offset & 3] }
        } else {
            bytes += payload
        }
        return bytes
    }

    static func text(_ text: String, mask key: [UInt8]? = [0x37, 0xFA, 0x21, 0x3D]) -> [UInt8] {
        encode(opcode: 0x1, payload: Array(text.utf8), mask: key)
    }

    static func close(code: UInt16, reason: String = "", mask key: [UInt8]? = [0x37, 0xFA, 0x21, 0x3D]) -> [UInt8] {
        encode(opcode: 0x8, payload: [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8), mask: key)
    }

    /// The complete frames at the start of `bytes`, and how many bytes they took.
    static func parseAll(_ bytes: [UInt8]) -> (frames: [RawFrame], rest: Int) {
        var frames: [RawFrame] = []
        var offset = 0
        while bytes.count - offset >= 2 {
            let first = bytes[offset]
            let second = bytes[offset + 1]
            var length = Int(second & 0x7F)
            var cursor = offset + 2
            if length == 126 {
                guard bytes.count >= cursor + 2 else { break }
                length = Int(bytes[cursor]) << 8 | Int(bytes[cursor + 1])
                cursor += 2
            } else if length == 127 {
                guard bytes.count >= cursor + 8 else { break }
                length = bytes[cursor..<(cursor + 8)].reduce(0) { $0 << 8 | Int($1) }
                cursor += 8
            }
            var key: [UInt8]?
            if second & 0x80 != 0 {
                guard bytes.count >= cursor + 4 else { break }
                key = Array(bytes[cursor..<(cursor + 4)])
                cursor += 4
            }
            guard bytes.count >= cursor + length else { break }
            var payload = Array(bytes[cursor..<(cursor + length)])
            if let key { payload = payload.enumerated().map { $0.element ^ key[$0.offset & 3] } }
            frames.append(RawFrame(fin: first & 0x80 != 0, opcode: first & 0x0F, payload: payload))
            offset = cursor + length
        }
        return (frames, bytes.count - offset)
    }
}

// MARK: - Raw server

/// A TCP server that answers the first request of each connection as it is told: with a
/// valid 101 followed at once (same write) by some frames, or not at all.
final class RawServer: Sendable {
    enum Behaviour: Sendable {
        /// 101 plus these frame bytes in one write.
        case accept(then: [UInt8])
        /// Reads and never answers.
        case silent
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let behaviour: Behaviour
        let requests: NIOLockedValueBox<Int>
        var request: [UInt8] = []
        var answered = false

        init(_ behaviour: Behaviour, requests: NIOLockedValueBox<Int>) {
            self.behaviour = behaviour
            self.requests = requests
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            request.append(contentsOf: unwrapInboundIn(data).readableBytesView)
            let text = String(decoding: request, as: UTF8.self)
            guard !answered, text.contains("\r\n\r\n") else { return }
            answered = true
            requests.withLockedValue { $0 += 1 }
            guard case .accept(let frames) = behaviour else { return }
            let key =
                text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }
                .map { $0.dropFirst("sec-websocket-key:".count).trimmingPrefix(" ") } ?? ""
            let accept = WebSocketHandshake.acceptValue(forKey: String(key))
            let head =
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: \(accept)\r\n\r\n"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: Array(head.utf8) + frames)), promise: nil)
        }
    }

    private let channel: any Channel
    private let accepted: NIOLockedValueBox<[any Channel]>
    private let requests: NIOLockedValueBox<Int>
    var port: Int { channel.localAddress!.port! }
    /// Connections whose whole request head has arrived.
    var requestCount: Int { requests.withLockedValue { $0 } }

    private init(channel: any Channel, accepted: NIOLockedValueBox<[any Channel]>, requests: NIOLockedValueBox<Int>) {
        self.channel = channel
        self.accepted = accepted
        self.requests = requests
    }

    static func start(_ behaviour: Behaviour) async throws -> RawServer {
        let accepted = NIOLockedValueBox<[any Channel]>([])
        let requests = NIOLockedValueBox(0)
        let channel = try await withTimeout(.seconds(5), "raw server bind") {
            try await ServerBootstrap(group: rawPeerGroup)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    accepted.withLockedValue { $0.append(channel) }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Responder(behaviour, requests: requests))
                    }
                }
                .bind(host: "127.0.0.1", port: 0)
                .get()
        }
        return RawServer(channel: channel, accepted: accepted, requests: requests)
    }

    /// Stops listening and drops every accepted connection.
    func stop() async throws {
        let channels = [channel] + accepted.withLockedValue { $0 }
        try await withTimeout(.seconds(5), "raw server close") {
            for channel in channels { try? await channel.close().get() }
        }
    }
}
