// The tutorial's example 9 as a program of its own: a mini-chat on Socket.IO.
//
//   swift run chat-server [port]        then open http://127.0.0.1:8080/ in two windows
//
// The page loads our browser client from /socket.io/socket.io.js; what anybody types goes
// to everybody connected, in the order the server received it.
import CanalHTTP
import CanalSocketIO
import Foundation
import Logging

@main
struct ChatServer {
    static func main() async throws {
        let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 8080
        let io = SocketIOServer()
        io.onConnection { socket in
            print("** new connection ** \(socket.id)")
            socket.on("message") { event in
                guard let text = event[0]?.stringValue else { return }
                print("message received: \(text)")
                io.send(text)  // to everybody connected, the sender included
            }
            socket.onDisconnect { reason in print("** connection ended ** \(socket.id): \(reason.rawValue)") }
        }

        var router = HTTPRouter()
        io.install(on: &router)
        try router.serveFiles(from: publicFolder())
        let server = try await HTTPServer.bind(host: "127.0.0.1", port: port, router: router, accessLogger: nil)
        print("chat on http://127.0.0.1:\(server.localAddress.port ?? port)/")
        try await server.run()
    }

    /// The `public` folder beside this source file, or the one in the current directory.
    static func publicFolder() -> String {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("public").path
        return FileManager.default.fileExists(atPath: here) ? here : "public"
    }
}
