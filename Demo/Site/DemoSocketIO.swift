import CanalSocketIO
import CanalSocketIOCore
import Logging

extension DemoSite {
    /// The Socket.IO side of the tutorial's examples 7, 8 and 9, on the main namespace:
    /// `message` is echoed to its sender (7 and 8), `tic` is only logged (8), and `chat`
    /// goes to every connected client (9, the mini-chat). Connections, messages and
    /// disconnections are logged at `info`, as the tutorial's servers print them.
    public static func installSocketIOExamples(on io: SocketIOServer, logger: Logger) {
        io.onConnection { socket in
            let who = "\(socket.handshake.address) (\(socket.id))"
            logger.info("new Socket.IO connection from \(who)")
            socket.on("message") { event in
                logger.info("message received from \(who): \(describe(event.arguments))")
                try? socket.emit("message", arguments: event.arguments)
            }
            socket.on("tic") { event in
                logger.info("tic from \(who)\(event.arguments.isEmpty ? "" : ": " + describe(event.arguments))")
            }
            socket.on("chat") { event in
                logger.info("chat message from \(who): \(describe(event.arguments))")
                try? io.emit("chat", arguments: event.arguments)
            }
            socket.onDisconnect { reason in
                logger.info("Socket.IO connection ended: \(who), \(reason.rawValue)")
            }
        }
    }

    private static func describe(_ arguments: [SocketIOValue]) -> String {
        let text = arguments.map { value in value.stringValue ?? SocketIOJSON.string(value) }.joined(separator: ", ")
        return String(text.prefix(200))
    }
}
