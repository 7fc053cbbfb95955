@testable import CanalHTTP
import CanalWebSocket
import FuzzSupport
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix

// CanalHTTP's request handling on one connection: NIOHTTP1's decoder with our limits,
// then our handler (limits answered 414/431/413, keep-alive, pipelining, the WebSocket
// upgrade and the frames that follow it), fed a client's bytes. The server is
// built with small limits so that the input reaches them.

let shared: HTTPServerContext = {
    // Route handlers run in tasks, off the embedded event loop: only the answers the
    // handler gives itself (404, 405, 413, 414, 431, 400, the upgrade) are exercised.
    var router = HTTPRouter()
    router.webSocket(
        "/ws",
        handler: .eventLoop { _ in
            { event, socket in
                if case .message(let message) = event { socket.send(message) }
            }
        }
    )
    var configuration = HTTPServerConfiguration(
        maxRequestLineLength: 256,
        maxHeaderCount: 16,
        maxHeaderSize: 1024,
        maxBodySize: 2048
    )
    configuration.webSocket.webSocket = WebSocketConfiguration(maxFrameSize: 1024, maxMessageSize: 2048)
    configuration.webSocket.timeouts.keepaliveInterval = nil
    var silent = Logger(label: "fuzz")
    silent.logLevel = .critical
    return HTTPServerContext(
        router: router,
        configuration: configuration,
        upgraders: HTTPServer.makeUpgraders(router: router, configuration: configuration, logger: silent),
        onAsyncWebSocket: { _ in },
        fileIO: NonBlockingFileIO(threadPool: .singleton),
        threadPool: .singleton,
        usesFileRegion: false,
        logger: silent,
        accessLog: AccessLog(logger: silent)
    )
}()
let decoderLimits = HTTPServer.decoderLimits(for: shared.configuration)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequestHead(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = FuzzInput(start, count)
    let channel = EmbeddedChannel()
    _ = try? channel.setOption(.allowRemoteHalfClosure, value: true).wait()
    do {
        try HTTPServer.addHTTPHandlers(to: channel.pipeline.syncOperations, shared: shared, decoderLimits: decoderLimits)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    } catch {
        fatalError("pipeline setup: \(error)")
    }
    for chunk in input.chunks {
        guard channel.isActive else { break }
        _ = try? channel.writeInbound(ByteBuffer(bytes: chunk))
        channel.embeddedEventLoop.run()
        while (try? channel.readOutbound(as: IOData.self)) ?? nil != nil {}
        while (try? channel.readOutbound(as: ByteBuffer.self)) ?? nil != nil {}
    }
    if channel.isActive {
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        channel.embeddedEventLoop.run()
    }
    // Past every timer (head timeout, close timeout): whatever the input, the connection ends.
    channel.embeddedEventLoop.advanceTime(by: .seconds(60))
    _ = try? channel.finish(acceptAlreadyClosed: true)
    return 0
}

@_cdecl("FuzzHTTPRequestHead_main")
public func fuzzHTTPRequestHeadMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        fuzzHTTPRequestHead(data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
