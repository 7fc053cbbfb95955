import CanalSSECore
import NIOCore
import NIOHTTP1

/// The event stream a connection is writing, with its timer and the application's task.
struct ActiveEventStream {
    let stream: EventStream
    let keepAlive: Bool
    var task: Task<Void, Never>?
    var heartbeat: RepeatedTask?
    /// Set by every write, cleared by each heartbeat tick: a comment goes out only on a
    /// tick that finds nothing was written since the last one.
    var wroteSinceTick = false
    var bytesSent: Int64 = 0
}

extension HTTPServerHandler {
    /// Asks the route's `accept` hook, then opens the stream or sends its refusal.
    func startEventStream(_ route: EventStreamRoute, exchange: Exchange) {
        guard let context else { return }
        let request = HTTPRequest(head: exchange.head, remoteAddress: context.channel.remoteAddress)
        let logger = shared.logger
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask {
            await route.accept(request)
        }.whenComplete { result in
            let handler = bound.value
            guard case .responding(let current) = handler.state, current.id == exchange.id else { return }
            switch result {
            case .success(let refusal?):
                handler.send(refusal, exchange: exchange)
            case .success(nil):
                handler.openEventStream(route, request: request, exchange: exchange)
            case .failure(let error):
                logger.error("! accept hook for \(exchange.head.uri) threw: \(error)")
                handler.sendSimple(.internalServerError, headers: HTTPHeaders(), exchange: exchange)
            }
        }
    }

    func openEventStream(_ route: EventStreamRoute, request: HTTPRequest, exchange: Exchange) {
        guard let context else { return }
        let configuration = shared.configuration.eventStream
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/event-stream")
        // Caches must not keep it, and buffering proxies (nginx) must pass each event on.
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Accel-Buffering", value: "no")
        if let cors = shared.configuration.cors {
            cors.apply(to: &headers, requestHeaders: exchange.head.headers)
        }
        // HTTP/1.0 has no chunked encoding: there the stream ends with the connection.
        let keepAlive = wantsKeepAlive(exchange.head) && exchange.head.version != .http1_0
        addCommonHeaders(&headers, head: exchange.head, keepAlive: keepAlive)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: exchange.head.version, status: .ok, headers: headers))),
            promise: nil
        )
        let stream = EventStream(request: request, handler: self, eventLoop: context.eventLoop)
        activeStream = ActiveEventStream(stream: stream, keepAlive: keepAlive)
        if let retry = configuration.retry {
            var buffer = context.channel.allocator.buffer(capacity: 16)
            ServerSentEventEncoder.retry(milliseconds: Int(retry.nanoseconds / 1_000_000), into: &buffer)
            writeEventStream(buffer, to: stream)
        } else {
            context.flush()
        }
        if let interval = configuration.heartbeatInterval, interval > .zero {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            activeStream?.heartbeat = context.eventLoop.scheduleRepeatedTask(
                initialDelay: interval, delay: interval
            ) { _ in
                bound.value.heartbeatTick(stream)
            }
        }
        let logger = shared.logger
        let uri = exchange.head.uri
        activeStream?.task = Task {
            do {
                try await route.handler(request, stream)
            } catch is CancellationError {
            } catch {
                // The status went out long ago; all that is left is to end the stream.
                logger.error("! event stream handler for \(uri) threw: \(error)")
            }
            stream.finish()
        }
    }

    /// Writes event-stream bytes, applying the slow-client policy.
    func writeEventStream(_ bytes: ByteBuffer, to stream: EventStream) {
        guard let context, activeStream?.stream === stream else { return }
        let configuration = shared.configuration.eventStream
        let size = bytes.readableBytes
        // What the channel holds that the socket has not taken (NIO counts it for us, so a
        // write costs no promise). A stream with nothing waiting always takes the next
        // event, however large: the bound is `maxBufferedBytes` plus one event.
        let buffered = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        if buffered > 0, buffered + size > configuration.maxBufferedBytes {
            switch configuration.slowClientPolicy {
            case .disconnect:
                shared.logger.debug("! event stream client too slow (\(buffered) bytes waiting); closing")
                endEventStream(.tooSlow)
                context.close(promise: nil)
            case .dropEvents:
                stream.countDroppedEvent()
            }
            return
        }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
        activeStream?.wroteSinceTick = true
        activeStream?.bytesSent += Int64(size)
    }

    func heartbeatTick(_ stream: EventStream) {
        guard let active = activeStream, active.stream === stream else { return }
        if active.wroteSinceTick {
            activeStream?.wroteSinceTick = false
            return
        }
        var buffer = ByteBuffer()
        ServerSentEventEncoder.comment(into: &buffer)
        writeEventStream(buffer, to: stream)
        activeStream?.wroteSinceTick = false
    }

    /// Ends the response of `stream` (if it is still this connection's), and goes on with
    /// the next request or closes.
    func finishEventStream(_ stream: EventStream, reason: EventStream.End) {
        guard let active = activeStream, active.stream === stream, case .responding(let exchange) = state else { return }
        endEventStream(reason)
        finishResponse(exchange: exchange, status: .ok, bytes: active.bytesSent, keepAlive: active.keepAlive)
    }

    /// Forgets the active stream: stops its timer, cancels the application's task, and
    /// tells whoever waits why it ended.
    func endEventStream(_ reason: EventStream.End) {
        guard let active = activeStream else { return }
        activeStream = nil
        active.heartbeat?.cancel()
        // Ended before cancelled: a handler woken by the cancellation must find it closed.
        _ = active.stream.markEnded(reason)
        active.task?.cancel()
    }
}
