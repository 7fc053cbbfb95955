import NIOCore

/// The NIO end of a `RedisConnection`: bytes in, through the sans-I/O `RESPDecoder`, values
/// out to the connection. It only translates.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var decoder: RESPDecoder
    private let connection: RedisConnection

    init(connection: RedisConnection, limits: RESPDecoderLimits) {
        self.connection = connection
        self.decoder = RESPDecoder(limits: limits)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        decoder.feed(unwrapInboundIn(data))
        do {
            while let value = try decoder.next() {
                connection.received(value, on: context.channel)
            }
        } catch {
            connection.failed(RedisError(.protocolError, error.message), on: context.channel)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.closed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        connection.failed(RedisError(.connectionLost, "\(error)"), on: context.channel)
        context.close(promise: nil)
    }
}
