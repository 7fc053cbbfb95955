import CanalSSECore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP request of an event source and the stream it returns.
enum EventSourceConnection {
    /// How an attempt ended.
    enum Outcome {
        case ended(wasOpen: Bool, cleanly: Bool, reason: String)
        /// 204 No Content: the server wants the client to stop.
        case stopRequested
    }

    static func run(
        url: EventSourceURL,
        configuration: EventSourceConfiguration,
        lastEventID: String,
        parser: inout ServerSentEventParser,
        group: any EventLoopGroup,
        yield: (EventSourceUpdate) -> Void
    ) async throws(EventSourceError) -> Outcome {
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            let sslContext = try url.isSecure
                ? NIOSSLContext(configuration: configuration.tls ?? .makeClientConfiguration()) : nil
            let readTimeout = configuration.readTimeout
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(configuration.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: url.host, port: url.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        if let sslContext {
                            let isAddress = (try? SocketAddress(ipAddress: url.host, port: 0)) != nil
                            try pipeline.addHandler(
                                NIOSSLClientHandler(context: sslContext, serverHostname: isAddress ? nil : url.host))
                        }
                        if let readTimeout {
                            try pipeline.addHandler(IdleStateHandler(readTimeout: readTimeout))
                            try pipeline.addHandler(IdleCloser())
                        }
                        try pipeline.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                            wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            return .ended(wasOpen: false, cleanly: false, reason: "could not connect: \(error)")
        }

        var headers = configuration.headers
        headers.replaceOrAdd(name: "Host", value: url.hostHeader)
        headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
        headers.replaceOrAdd(name: "Cache-Control", value: "no-cache")
        // WHATWG: "If the event source's last event ID string is not the empty string,
        // set `Last-Event-ID`."
        if !lastEventID.isEmpty { headers.replaceOrAdd(name: "Last-Event-ID", value: lastEventID) }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target, headers: headers)

        var wasOpen = false
        var failure: EventSourceError?
        var outcome: Outcome?
        do {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(.head(head))
                try await outbound.write(.end(nil))
                parts: for try await part in inbound {
                    switch part {
                    case .head(let response):
                        if response.status == .noContent {
                            outcome = .stopRequested
                            break parts
                        }
                        guard response.status == .ok else {
                            failure = EventSourceError(
                                .badStatus, status: response.status,
                                "the server answered \(response.status.code) \(response.status.reasonPhrase)")
                            break parts
                        }
                        let type = response.headers.first(name: "Content-Type")
                        let mime = type?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
                        guard mime == "text/event-stream" else {
                            failure = EventSourceError(
                                .badContentType, "the response is \(type ?? "untyped"), not text/event-stream")
                            break parts
                        }
                        wasOpen = true
                        yield(.open(headers: response.headers))
                    case .body(let buffer):
                        do {
                            for event in try parser.parse(buffer) { yield(.event(event)) }
                        } catch {
                            failure = EventSourceError(
                                .eventTooLarge, "an event was larger than \(configuration.limits.maxEventSize) bytes")
                            break parts
                        }
                    case .end:
                        outcome = .ended(wasOpen: wasOpen, cleanly: true, reason: "the server ended the stream")
                        break parts
                    }
                }
            }
        } catch {
            outcome = .ended(wasOpen: wasOpen, cleanly: false, reason: "the connection failed: \(error)")
        }
        // An event whose blank line never came is dropped (WHATWG §9.2.6).
        parser.finish()
        if let failure { throw failure }
        return outcome ?? .ended(wasOpen: wasOpen, cleanly: false, reason: "the connection closed mid-stream")
    }
}

/// Closes the connection when `IdleStateHandler` reports that nothing was read in time.
final class IdleCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case IdleStateHandler.IdleStateEvent.read = event {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
