// nio-floor: the least a SwiftNIO server can do to echo WebSocket frames.
//
// One handler straight on the socket channel, no validation, no limits, no
// close handshake: it answers the opening handshake, unmasks each complete
// frame into one reply buffer per read, and flushes on channelReadComplete,
// which is how NIO applications usually write. With --batch, it instead flushes
// every connection once per event-loop round, as Canal does (LoopFlushBatch).
// It exists only to measure what SwiftNIO's channel and pipeline cost per
// message on this machine (bench/floor/README.md). Never serve anything with it.
//
//   swift build -c release --package-path bench/floor/nio
//   bench/floor/nio/.build/release/nio-floor PORT [--batch]
import CanalWebSocketCore
import Foundation
import NIOCore
import NIOPosix

/// The connections of the one event loop that wait for the end of its round to flush.
/// Only that loop touches it.
final class FlushBatch: @unchecked Sendable {
    private let loop: EventLoop
    private var waiting: [ChannelHandlerContext] = []

    init(loop: EventLoop) { self.loop = loop }

    func add(_ context: ChannelHandlerContext) {
        if waiting.isEmpty { loop.execute { self.flushAll() } }
        waiting.append(context)
    }

    private func flushAll() {
        let contexts = waiting
        waiting = []
        for context in contexts { context.flush() }
    }
}

final class FloorEcho: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let batch: FlushBatch?
    private var isOpen = false
    private var pending: ByteBuffer?
    private var hasWritten = false

    init(batch: FlushBatch?) { self.batch = batch }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        if var earlier = pending {
            earlier.writeBuffer(&input)
            input = earlier
        }
        if !isOpen, !handshake(&input, context: context) {
            pending = input
            return
        }
        if let reply = echoFrames(&input, allocator: context.channel.allocator) {
            context.write(wrapOutboundOut(reply), promise: nil)
            hasWritten = true
        }
        pending = input.readableBytes > 0 ? input : nil
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if hasWritten {
            hasWritten = false
            if let batch { batch.add(context) } else { context.flush() }
        }
    }

    /// Answers the request once its head is complete.
    private func handshake(_ input: inout ByteBuffer, context: ChannelHandlerContext) -> Bool {
        let bytes = input.readableBytesView
        guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return false }
        let head = input.readString(length: end.upperBound - bytes.startIndex) ?? ""
        let key = head.split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("sec-websocket-key:") }?
            .dropFirst(18).trimmingCharacters(in: .whitespaces) ?? ""
        var reply = context.channel.allocator.buffer(capacity: 160)
        reply.writeString(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: \(WebSocketHandshake.acceptValue(forKey: key))\r\n\r\n")
        context.write(wrapOutboundOut(reply), promise: nil)
        hasWritten = true
        isOpen = true
        return true
    }

    /// Turns every complete client frame into a server frame; pings become pongs.
    private func echoFrames(_ input: inout ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer? {
        var reply: ByteBuffer?
        while let first = input.getInteger(at: input.readerIndex, as: UInt16.self) {
            var length = Int(first & 0x7f)
            var headLength = 2
            if length == 126 {
                guard let extended = input.getInteger(at: input.readerIndex + 2, as: UInt16.self) else { break }
                length = Int(extended)
                headLength = 4
            } else if length == 127 {
                guard let extended = input.getInteger(at: input.readerIndex + 2, as: UInt64.self) else { break }
                length = Int(extended)
                headLength = 10
            }
            guard input.readableBytes >= headLength + 4 + length,
                let mask = input.getInteger(at: input.readerIndex + headLength, as: UInt32.self)
            else { break }
            let opcodeByte = UInt8(first >> 8)
            var out = reply ?? allocator.buffer(capacity: length + 10)
            out.writeInteger(opcodeByte & 0x0f == 0x9 ? (opcodeByte & 0xf0) | 0xa : opcodeByte)
            if length < 126 {
                out.writeInteger(UInt8(length))
            } else if length < 65536 {
                out.writeInteger(UInt8(126))
                out.writeInteger(UInt16(length))
            } else {
                out.writeInteger(UInt8(127))
                out.writeInteger(UInt64(length))
            }
            input.moveReaderIndex(forwardBy: headLength + 4)
            input.withUnsafeReadableBytes { source in
                _ = out.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { target in
                    for index in 0..<length {
                        target[index] = source[index] ^ UInt8(truncatingIfNeeded: mask >> (24 - 8 * (index & 3)))
                    }
                    return length
                }
            }
            input.moveReaderIndex(forwardBy: length)
            reply = out
        }
        return reply
    }
}

let arguments = CommandLine.arguments.dropFirst()
guard let port = arguments.first.flatMap({ Int($0) }), arguments.dropFirst().allSatisfy({ $0 == "--batch" }) else {
    print("usage: nio-floor PORT [--batch]")
    exit(2)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let batch = arguments.contains("--batch") ? FlushBatch(loop: group.next()) : nil
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(FloorEcho(batch: batch)) }
    }
    .bind(host: "127.0.0.1", port: port).wait()
try channel.closeFuture.wait()
