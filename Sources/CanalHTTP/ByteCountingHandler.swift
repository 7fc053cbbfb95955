import NIOCore

/// Sits under the HTTP codec and counts the bytes each way, for the `HTTPTrafficMeter` of
/// the route being answered. Bytes that arrive before a request is routed (its head) are
/// held as a number and given to the meter once the route is known.
final class ByteCountingHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private var meter: HTTPTrafficMeter?
    private var unattributed = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        if let meter {
            meter.add(received: count)
        } else {
            unattributed += count
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if let meter {
            switch unwrapOutboundIn(data) {
            case .byteBuffer(let buffer): meter.add(sent: buffer.readableBytes)
            case .fileRegion(let region): meter.add(sent: region.readableBytes)
            }
        }
        context.write(data, promise: promise)
    }

    /// A request was routed: what was read since the last one belongs to it.
    func begin(_ meter: HTTPTrafficMeter?) {
        meter?.countRequest(receivedSoFar: unattributed)
        unattributed = 0
        self.meter = meter
    }

    /// The response has been written out (its end went past this handler).
    func end() {
        meter = nil
    }
}

@available(*, unavailable)
extension ByteCountingHandler: Sendable {}
