import NIOCore
import NIOHTTP1

extension HTTPServerHandler {
    func sendSimple(_ status: HTTPResponseStatus, headers: HTTPHeaders, exchange: Exchange) {
        var headers = headers
        let mayHaveBody = status != .noContent && status != .notModified
        if mayHaveBody { headers.replaceOrAdd(name: "Content-Type", value: "text/plain; charset=utf-8") }
        let body = mayHaveBody ? ByteBuffer(string: "\(status.reasonPhrase)\n") : ByteBuffer()
        send(HTTPResponse(status: status, headers: headers, body: body), exchange: exchange, appliesCORS: false)
    }

    /// Sends a complete response to the exchange in progress.
    func send(_ response: HTTPResponse, exchange: Exchange, keepAlive: Bool = true, appliesCORS: Bool = true) {
        guard let context else { return }
        var headers = response.headers
        if appliesCORS, exchange.target.isApplication, let cors = shared.configuration.cors {
            cors.apply(to: &headers, requestHeaders: exchange.head.headers)
        }
        let keepAlive = keepAlive && wantsKeepAlive(exchange.head)
        addCommonHeaders(&headers, head: exchange.head, keepAlive: keepAlive)
        let hasBody = response.status != .notModified && response.status != .noContent
        if hasBody { headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes)) }
        context.write(
            wrapOutboundOut(
                .head(HTTPResponseHead(version: exchange.head.version, status: response.status, headers: headers))),
            promise: nil
        )
        var sent: Int64 = 0
        if hasBody, exchange.head.method != .HEAD, response.body.readableBytes > 0 {
            sent = Int64(response.body.readableBytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        finishResponse(exchange: exchange, status: response.status, bytes: sent, keepAlive: keepAlive)
    }

    /// Refuses a request that broke a limit or could not be parsed, and closes: the rest of
    /// it is never read.
    func refuse(_ status: HTTPResponseStatus, head requestHead: HTTPRequestHead? = nil) {
        guard let context else { return }
        headTimer?.cancel()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        let body = ByteBuffer(string: "\(status.reasonPhrase)\n")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Date", value: currentDate())
        var version = HTTPVersion.http1_1
        var head = requestHead
        var started = NIODeadline.now()
        if let requestHead { version = requestHead.version }
        if case .readingBody(let exchange) = state {
            version = exchange.head.version
            head = exchange.head
            started = exchange.started
        }
        state = .closing
        queued.removeAll()
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        shared.accessLog.refused(
            remote: context.channel.remoteAddress,
            head: head,
            status: status.code,
            bytes: Int64(body.readableBytes),
            started: started
        )
        // Lingering close: send FIN but keep reading (and dropping) for a moment. Closing
        // outright with unread input makes the kernel send RST, which can destroy the
        // answer before the client reads it.
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let linger = Self.lingerTime
        let ended = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        counter?.end()
        ended.whenComplete { _ in
            let context = bound.value
            context.close(mode: .output, promise: nil)
            context.eventLoop.scheduleTask(in: linger) { bound.value.close(promise: nil) }
        }
        shared.logger.debug("! refused a request: \(status.code)")
    }

    /// How long a refused connection keeps draining input before it closes.
    static let lingerTime = TimeAmount.seconds(2)

    /// Writes the end of the response, logs it, and moves on to the next request or closes.
    func finishResponse(
        exchange: Exchange,
        status: HTTPResponseStatus,
        bytes: Int64,
        keepAlive: Bool,
        whenWritten: (@Sendable () -> Void)? = nil
    ) {
        guard let context else {
            whenWritten?()
            return
        }
        shared.accessLog.request(
            remote: context.channel.remoteAddress,
            head: exchange.head,
            status: status.code,
            bytes: bytes,
            started: exchange.started
        )
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        counter?.end()
        if let whenWritten { written.whenComplete { _ in whenWritten() } }
        if keepAlive && !quiescing {
            state = .awaitingHead
            // The head timer starts once the response is out: a slow download must not be
            // cut as if the client were slow to send its next request.
            responseInFlight = written
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            written.whenComplete { _ in bound.value.responseWritten(written) }
            drainQueue()
        } else {
            state = .closing
            queued.removeAll()
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    func responseWritten(_ written: EventLoopFuture<Void>) {
        guard responseInFlight === written else { return }
        responseInFlight = nil
        guard case .awaitingHead = state else { return }
        armHeadTimer()
        closeIfIdleAfterInput()
    }

    func wantsKeepAlive(_ head: HTTPRequestHead) -> Bool {
        head.isKeepAlive && !quiescing && !inputClosed
    }

    func addCommonHeaders(_ headers: inout HTTPHeaders, head: HTTPRequestHead, keepAlive: Bool) {
        headers.replaceOrAdd(name: "Date", value: currentDate())
        if !keepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if head.version == .http1_0 {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
    }

    /// The `Date` header (RFC 9110 §6.6.1), formatted once per second per connection.
    func currentDate() -> String {
        let now = Int(NIODeadline.now().uptimeNanoseconds / 1_000_000_000)
        if dateCache.second != now || dateCache.text.isEmpty {
            dateCache = (now, HTTPDate.format(wallClockSeconds()))
        }
        return dateCache.text
    }
}
