// The tutorial's example 3: a WebSocket echo server that narrates what happens.
//
//   swift run echo-server [port]        then: canal -c ws://127.0.0.1:8080/
//
// Plain HTTP requests get 404. Text and binary messages come back as they were sent.
import CanalWebSocket
import Foundation
import Logging

@main
struct EchoServer {
    static func main() async throws {
        let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 8080
        var logger = Logger(label: "echo-server")
        logger.logLevel = .warning
        let server = try await WebSocketServer.bind(
            host: "127.0.0.1",
            port: port,
            logger: logger,
            handler: .async { inbound, outbound, context in
                let peer = context.request?.remoteAddress?.description ?? "unknown peer"
                say("connection opened from \(peer) (path \(context.request?.path ?? "/"))")
                for try await event in inbound {
                    switch event {
                    case .message(let message):
                        switch message.kind {
                        case .text: say("  text message: \(message.text ?? "")")
                        case .binary: say("  binary message: \(message.data.readableBytes) bytes")
                        }
                        try await outbound.send(message)
                    case .ping:
                        say("  ping (answered with a pong)")
                    case .pong, .closeReceived:
                        break
                    case .closed(let status):
                        let reason = status.reason.isEmpty ? "none" : "\"\(status.reason)\""
                        say("connection closed: code \(status.code.rawValue), reason \(reason)")
                    }
                }
            }
        )
        say("Echo server listening on ws://127.0.0.1:\(server.localAddress.port ?? port)/")
        try await server.run()
    }

    static func say(_ line: String) {
        print(line)
        fflush(nil)
    }
}
