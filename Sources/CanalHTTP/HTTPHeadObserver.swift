import NIOCore

/// Watches the raw bytes ahead of the HTTP decoder to tell which part of a request head
/// was too long.
///
/// The decoder reports every oversized head as one error (`headerOverflow`), whether the
/// request line or the header fields overflowed; RFC 9110 §15.5.15 and RFC 6585 §5 want
/// 414 for the first and 431 for the second. This handler measures the request line (the
/// bytes before its line feed). It copies nothing, and is removed before a WebSocket
/// upgrade.
final class HTTPHeadObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Bytes of the current request line seen so far (all of it once it has ended).
    private(set) var requestLineLength = 0
    private var requestLineEnded = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !requestLineEnded {
            let view = unwrapInboundIn(data).readableBytesView
            if let lineFeed = view.firstIndex(of: UInt8(ascii: "\n")) {
                requestLineLength += lineFeed - view.startIndex
                requestLineEnded = true
            } else {
                requestLineLength += view.count
            }
        }
        context.fireChannelRead(data)
    }

    /// Called when a request has ended: the next bytes start a request line. (Bytes of a
    /// pipelined request that already went by are not measured again, so the answer to
    /// such a request may say 431 where 414 would be more precise. Either way the
    /// connection ends.)
    func expectRequestLine() {
        requestLineLength = 0
        requestLineEnded = false
    }
}

@available(*, unavailable)
extension HTTPHeadObserver: Sendable {}
