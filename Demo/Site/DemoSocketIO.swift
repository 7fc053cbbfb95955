import CanalSocketIO
import CanalSocketIOCore
import Logging

extension DemoSite {
    /// The server side of the tutorial's Socket.IO examples:
    ///
    /// - 7 and 8, on the main namespace: a `message` goes back to its sender
    ///   (`socket.send`), a `tic` is only printed;
    /// - 9, the mini-chat, on `/chat`: a `message` goes to everybody connected there
    ///   (`io.of("/chat").send`).
    ///
    /// Each connection, message, tic and disconnection is printed on `console`, as the
    /// tutorial's servers print them.
    public static func installSocketIOExamples(on io: SocketIOServer, console: DemoConsole) {
        io.onConnection { socket in
            let who = describe(socket)
            console.print("** new connection ** \(who)", .event)
            socket.on("message") { event in
                console.print("message received: \(text(event.arguments))", .message)
                socket.send(arguments: event.arguments)
            }
            socket.on("tic") { event in
                console.print(text(event.arguments), .tic)
            }
            socket.onDisconnect { reason in
                console.print("** connection ended ** \(who): \(reason.rawValue)", .event)
            }
        }
        let chat = io.of("/chat")
        chat.onConnection { socket in
            let who = describe(socket)
            console.print("** new chat connection ** \(who)", .event)
            socket.on("message") { event in
                console.print("chat message: \(text(event.arguments))", .message)
                chat.send(arguments: event.arguments)
            }
            socket.onDisconnect { reason in
                console.print("** chat connection ended ** \(who): \(reason.rawValue)", .event)
            }
        }
    }

    private static func describe(_ socket: SocketIOSocket) -> String {
        "\(socket.handshake.address) (socket \(socket.id))"
    }

    /// The arguments as a person reads them: strings as they are, the rest as JSON.
    private static func text(_ arguments: [SocketIOValue]) -> String {
        let joined = arguments.map { value in value.stringValue ?? SocketIOJSON.string(value) }.joined(separator: " ")
        return DemoConsole.printable(String(joined.prefix(300)))
    }
}
