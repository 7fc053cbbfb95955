import CanalWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// What every connection of one server shares.
struct HTTPServerContext: Sendable {
    let router: HTTPRouter
    let configuration: HTTPServerConfiguration
    /// One upgrader per WebSocket route, by path.
    let upgraders: [String: WebSocketUpgrader]
    /// Hands an upgraded connection with an async handler to the server's task group.
    let onAsyncWebSocket: @Sendable (WebSocketAsyncSession) -> Void
    let fileIO: NonBlockingFileIO
    let threadPool: NIOThreadPool
    /// Send files with `sendfile(2)` through a `FileRegion`; off under TLS, where the bytes
    /// must pass through the TLS handler.
    let usesFileRegion: Bool
    let logger: Logger
    let accessLog: AccessLog
}

/// Serves HTTP/1.1 on one connection: keep-alive, pipelining, limits, the request-head
/// timeout, routes, static files and WebSocket upgrades.
///
/// Requests are answered one at a time and in order. Parts of a pipelined request that
/// arrive while a response is in progress are queued, and reading stops until the
/// response is done, so a client cannot make the server buffer without bound.
final class HTTPServerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Where a request goes, decided when its head arrives.
    enum Target {
        case route(HTTPHandler)
        case staticFile(StaticFilePath, HTTPRouter.StaticFiles)
        case webSocket(WebSocketUpgrader)
        case eventStream(EventStreamRoute)
        case preflight
        /// An answer without a body from the application (404, 405, 400, an OPTIONS reply).
        case status(HTTPResponseStatus, HTTPHeaders)
    }

    /// The request being read or answered.
    struct Exchange {
        var id: UInt64
        var head: HTTPRequestHead
        var target: Target
        /// Collected for routes only; other targets discard the body.
        var body: ByteBuffer?
        var bodyBytes: Int
        var started: NIODeadline
    }

    enum State {
        /// Between requests; the head timer runs.
        case awaitingHead
        case readingBody(Exchange)
        case responding(Exchange)
        /// An error was answered; the connection closes once it is written.
        case closing
        /// The pipeline speaks WebSocket now; this handler is gone.
        case upgraded
        case closed
    }

    let shared: HTTPServerContext
    let observer: HTTPHeadObserver
    /// Counts bytes for the `HTTPTrafficMeter` of the route being answered; nil when the
    /// router meters no route.
    let counter: ByteCountingHandler?
    /// The HTTP handlers a WebSocket upgrade removes, held to spare looking them up.
    let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    let encoder: HTTPResponseEncoder
    var state = State.awaitingHead
    var context: ChannelHandlerContext?
    /// Request parts that arrived while a response was in progress.
    var queued = CircularBuffer<HTTPServerRequestPart>()
    var isDraining = false
    var readSuppressed = false
    var headTimer: Scheduled<Void>?
    var quiescing = false
    var inputClosed = false
    var nextExchangeID: UInt64 = 0
    /// The write of the last response's end, until it completes. The connection is idle
    /// only after that: a file may still be streaming.
    var responseInFlight: EventLoopFuture<Void>?
    var dateCache = (second: 0, text: "")
    /// The server-sent event stream being written, while one is.
    var activeStream: ActiveEventStream?
    /// The task of the route handler answering the current request, while it runs.
    var routeTask: Task<Void, Never>?

    init(
        shared: HTTPServerContext,
        observer: HTTPHeadObserver,
        counter: ByteCountingHandler?,
        decoder: ByteToMessageHandler<HTTPRequestDecoder>,
        encoder: HTTPResponseEncoder
    ) {
        self.shared = shared
        self.observer = observer
        self.counter = counter
        self.decoder = decoder
        self.encoder = encoder
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { armHeadTimer() }
    }

    func channelActive(context: ChannelHandlerContext) {
        armHeadTimer()
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headTimer?.cancel()
        headTimer = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        headTimer?.cancel()
        endEventStream(.disconnected)
        routeTask?.cancel()
        state = .closed
        queued.removeAll()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            inputClosed = true
            if case .closing = state {
                context.close(promise: nil)
                return
            }
            // A client that closes its side while it waits has left: a browser aborting a
            // long poll or closing an EventSource looks just like this. A held request
            // stops waiting (its task is cancelled), and an event stream ends.
            routeTask?.cancel()
            if activeStream != nil {
                endEventStream(.disconnected)
                context.close(promise: nil)
                return
            }
            closeIfIdle()
        case is ChannelShouldQuiesceEvent:
            // Graceful shutdown: finish the response in progress, then close. An event
            // stream would never finish by itself: end it now.
            quiescing = true
            if let stream = activeStream?.stream { finishEventStream(stream, reason: .serverShutdown) }
            closeIfIdle()
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if case .closing = state {
            // The decoder keeps failing on input that follows a refused request.
            return
        }
        guard let parserError = error as? HTTPParserError else {
            shared.logger.debug("! \(error)")
            context.close(promise: nil)
            return
        }
        switch state {
        case .awaitingHead where queued.isEmpty, .readingBody:
            // RFC 9112 §2.2 wants 400 for an unparsable request; an oversized head gets
            // 414 or 431 depending on where it overflowed.
            let status: HTTPResponseStatus
            if parserError == .headerOverflow {
                let lineTooLong = observer.requestLineLength > shared.configuration.maxRequestLineLength
                status = lineTooLong ? .uriTooLong : .requestHeaderFieldsTooLarge
            } else {
                status = .badRequest
            }
            shared.logger.debug("! unparsable request (\(parserError)): \(status.code)")
            refuse(status)
        case .awaitingHead, .responding:
            // Answer what came before the garbage, then stop.
            inputClosed = true
            queued.append(.end(nil))
        case .closing, .upgraded, .closed:
            break
        }
    }

    func closeIfIdle() {
        // With a response still being written, `responseWritten` calls back here.
        guard case .awaitingHead = state, queued.isEmpty, responseInFlight == nil, let context else { return }
        context.close(promise: nil)
    }

    // MARK: Head timer

    func armHeadTimer() {
        headTimer?.cancel()
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        var deadline = NIODeadline.now() + shared.configuration.requestHeadTimeout
        if case .readingBody(let exchange) = state {
            // A body that trickles in never pauses for long; it must still end in time.
            deadline = min(deadline, exchange.started + shared.configuration.requestBodyTimeout)
        }
        headTimer = context.eventLoop.scheduleTask(deadline: deadline) {
            bound.value.headTimedOut()
        }
    }

    func headTimedOut() {
        guard let context else { return }
        switch state {
        case .awaitingHead:
            shared.logger.debug("! no complete request head in time; closing")
        case .readingBody:
            shared.logger.debug("! request body stalled; closing")
        case .responding, .closing, .upgraded, .closed:
            return
        }
        context.close(promise: nil)
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state {
        case .closing, .upgraded, .closed:
            return
        case .responding:
            queued.append(part)
        case .awaitingHead, .readingBody:
            if queued.isEmpty {
                process(part)
            } else {
                queued.append(part)
            }
        }
    }

    func read(context: ChannelHandlerContext) {
        if queued.isEmpty {
            context.read()
        } else {
            readSuppressed = true
        }
    }

    /// Processes queued parts once a response is done.
    func drainQueue() {
        guard !isDraining else { return }
        isDraining = true
        defer { isDraining = false }
        while !queued.isEmpty {
            switch state {
            case .awaitingHead, .readingBody:
                process(queued.removeFirst())
            case .responding, .closing, .upgraded, .closed:
                return
            }
        }
        if readSuppressed, let context {
            readSuppressed = false
            context.read()
        }
        closeIfIdleAfterInput()
    }

    func closeIfIdleAfterInput() {
        if inputClosed || quiescing { closeIfIdle() }
    }

    func process(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head):
            receivedHead(head)
        case .body(let bytes):
            guard case .readingBody(var exchange) = state else { return }
            exchange.bodyBytes += bytes.readableBytes
            guard exchange.bodyBytes <= shared.configuration.maxBodySize else {
                refuse(.payloadTooLarge)
                return
            }
            if exchange.body != nil {
                state = .awaitingHead  // drop the reference so the buffer grows in place
                var bytes = bytes
                exchange.body!.writeBuffer(&bytes)
            }
            state = .readingBody(exchange)
            armHeadTimer()  // the body must keep coming
        case .end:
            guard case .readingBody(let exchange) = state else { return }
            headTimer?.cancel()
            headTimer = nil
            observer.expectRequestLine()
            state = .responding(exchange)
            respond(to: exchange)
        }
    }

    func receivedHead(_ head: HTTPRequestHead) {
        headTimer?.cancel()
        headTimer = nil
        let configuration = shared.configuration
        // RFC 9112 §3: method SP request-target SP HTTP-version.
        let requestLineLength = head.method.rawValue.utf8.count + head.uri.utf8.count + 10
        guard requestLineLength <= configuration.maxRequestLineLength else { return refuse(.uriTooLong, head: head) }
        guard head.headers.count <= configuration.maxHeaderCount else {
            return refuse(.requestHeaderFieldsTooLarge, head: head)
        }
        var headerBytes = 0
        for (name, value) in head.headers { headerBytes += name.utf8.count + value.utf8.count }
        guard headerBytes <= configuration.maxHeaderSize else {
            return refuse(.requestHeaderFieldsTooLarge, head: head)
        }
        if let length = head.headers.first(name: "Content-Length").flatMap(Int.init),
            length > configuration.maxBodySize
        {
            return refuse(.payloadTooLarge, head: head)
        }

        let target = route(head)
        counter?.begin(meter(for: head))
        var body: ByteBuffer?
        if case .route = target { body = context?.channel.allocator.buffer(capacity: 0) }
        // RFC 9110 §10.1.1: the body is within limits and will be read (and, for targets
        // other than routes, discarded), so the client may send it.
        if head.headers.first(name: "Expect")?.lowercased() == "100-continue", head.version == .http1_1 {
            context?.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                promise: nil
            )
        }
        nextExchangeID &+= 1
        state = .readingBody(
            Exchange(id: nextExchangeID, head: head, target: target, body: body, bodyBytes: 0, started: .now())
        )
        // A body may not stall for longer than a head may take.
        if head.headers.contains(name: "Content-Length") || head.headers.contains(name: "Transfer-Encoding") {
            armHeadTimer()
        }
    }

    /// Picks the target of a request from its head.
    // MARK: Answering

    func respond(to exchange: Exchange) {
        switch exchange.target {
        case .status(let status, let headers):
            sendSimple(status, headers: headers, exchange: exchange)
        case .preflight:
            let headers =
                shared.configuration.cors?.preflightHeaders(requestHeaders: exchange.head.headers) ?? HTTPHeaders()
            send(HTTPResponse(status: .noContent, headers: headers), exchange: exchange)
        case .route(let handler):
            runRoute(handler, exchange: exchange)
        case .staticFile(let path, let files):
            serveStaticFile(path, files: files, exchange: exchange)
        case .webSocket(let upgrader):
            upgradeToWebSocket(upgrader, exchange: exchange)
        case .eventStream(let route):
            startEventStream(route, exchange: exchange)
        }
    }

    func runRoute(_ handler: @escaping HTTPHandler, exchange: Exchange) {
        guard let context else { return }
        let request = HTTPRequest(
            head: exchange.head,
            body: exchange.body ?? ByteBuffer(),
            remoteAddress: context.channel.remoteAddress
        )
        let logger = shared.logger
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let answered = context.eventLoop.makePromise(of: HTTPResponse.self)
        // Cancelled if the client leaves first: a held request (a long poll) stops waiting.
        routeTask = Task {
            do {
                answered.succeed(try await handler(request))
            } catch {
                answered.fail(error)
            }
        }
        answered.futureResult.whenComplete { result in
            let handler = bound.value
            handler.routeTask = nil
            guard case .responding(let current) = handler.state, current.id == exchange.id else { return }
            switch result {
            case .success(let response):
                handler.send(response, exchange: exchange)
            case .failure(let error):
                // Reasons sent to peers never carry internal details.
                logger.error("! handler for \(exchange.head.method.rawValue) \(exchange.head.uri) threw: \(error)")
                handler.sendSimple(.internalServerError, headers: HTTPHeaders(), exchange: exchange)
            }
        }
    }
}

@available(*, unavailable)
extension HTTPServerHandler: Sendable {}

extension HTTPServerHandler.Target {
    /// Answered by the application (route handlers and event streams): CORS applies.
    var isApplication: Bool {
        switch self {
        case .route, .eventStream: return true
        case .staticFile, .webSocket, .preflight, .status: return false
        }
    }
}
