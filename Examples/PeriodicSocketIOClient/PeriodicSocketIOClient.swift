// The tutorial's example 4 over Socket.IO: a client that sends a first message when it
// connects, then a numbered message every 2 seconds while it is connected, and prints
// everything that comes back. Against `canal serve` (which echoes `message` events):
//
//   swift run canal serve                    (one terminal)
//   swift run periodic-sio-client [url]      (another; default http://127.0.0.1:8080/)
//
// Stop the server and start it again: the client says it lost the connection, reconnects
// (1 s, 2 s, 4 s, 5 s ... apart) and carries on numbering.
import CanalSocketIOClient
import Foundation

@main
struct PeriodicSocketIOClient {
    static func main() async {
        let url = CommandLine.arguments.dropFirst().first ?? "http://127.0.0.1:8080/"
        do {
            try await SocketIOClient.connect(to: url) { socket, events in
                say("connected to \(url) (id \(socket.id ?? "?"))")
                try socket.send("first message")
                // Closure listeners for the connection's ups and downs...
                socket.onDisconnect { reason in say("connection lost (\(reason.rawValue))") }
                socket.onConnect { info in say("connected again (id \(info.id))") }
                // ...and structured tasks for the rest: both end together.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        var counter = 1
                        while true {
                            try await Task.sleep(for: .seconds(2))
                            // Only while connected, as the tutorial checks readyState.
                            guard socket.isConnected else { continue }
                            let text = "message \(counter)"
                            say("sent: \(text)")
                            try socket.send(text)
                            counter += 1
                        }
                    }
                    group.addTask {
                        for try await event in events {
                            let shown = event.arguments.map { $0.stringValue ?? SocketIOJSON.string($0) }
                            say("received \(event.name): \(shown.joined(separator: ", "))")
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
            say("connection closed")
        } catch {
            say("error: \(error)")
            exit(1)
        }
    }

    static func say(_ line: String) {
        print(line)
        fflush(nil)
    }
}
