// The tutorial's example 4: a client written against the browser-style WebSocket API.
// It sends a first message on connect, then a numbered message every 2 seconds while
// the connection is open, and prints every message that comes back.
//
//   swift run periodic-client [url]     (default ws://127.0.0.1:8080/)
import CanalWebSocket
import Foundation

@main
struct PeriodicClient {
    static func main() async throws {
        let url = CommandLine.arguments.dropFirst().first ?? "ws://127.0.0.1:8080/"
        let socket = WebSocket(url: url)
        let finished = AsyncStream<Void>.makeStream()

        socket.onopen = {
            say("connected to \(url)")
            try? socket.send("first message")
        }
        socket.onmessage = { message in
            switch message.kind {
            case .text: say("received: \(message.text ?? "")")
            case .binary: say("received \(message.data.readableBytes) bytes of binary data")
            }
        }
        socket.onerror = { error in
            say("error: \(error)")
        }
        socket.onclose = { status in
            say("connection closed (code \(status.code.rawValue))")
            finished.continuation.finish()
        }

        let ticker = Task {
            var counter = 1
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(2))
                guard socket.readyState == .open else { continue }
                let text = "message \(counter)"
                say("sent: \(text)")
                try? socket.send(text)
                counter += 1
            }
        }
        for await _ in finished.stream {}
        ticker.cancel()
    }

    static func say(_ line: String) {
        print(line)
        fflush(nil)
    }
}
