import CanalEventSource
import CanalHTTP
import CanalSSECore
import CanalWebSocket
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import Testing

/// Our client against our server on 127.0.0.1.
@Suite struct EventSourceTests {
    /// `/count?n=N`: ids after Last-Event-ID up to N, 10 ms apart; 204 once all were sent.
    static func counter(requests: NIOLockedValueBox<[String?]>) -> HTTPRouter {
        var router = HTTPRouter()
        router.eventStream("/count", accept: { request in
            let lastID = request.headers.first(name: "Last-Event-ID")
            requests.withLockedValue { $0.append(lastID) }
            let total = Int(request.queryParameter("n") ?? "") ?? 5
            return (Int(lastID ?? "") ?? 0) >= total ? HTTPResponse(status: .noContent) : nil
        }) { request, stream in
            let total = Int(request.queryParameter("n") ?? "") ?? 5
            let start = (Int(stream.lastEventID ?? "") ?? 0) + 1
            // Two events per connection, then the stream ends and the client comes back.
            for number in start...min(total, start + 1) {
                try stream.send(ServerSentEvent(event: "tick", id: String(number), data: "tick \(number)"))
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        router.eventStream("/raw") { _, stream in
            for piece in ["data: sp", "lit\r", "\ndata: x\r", "\n\r", "\nid: 7\0\ndata: n\n\n", ": c\ndata: half"] {
                stream.send(EncodedServerSentEvent(preformatted: ByteBuffer(string: piece)))
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        router.get("/text") { _ in .text("not a stream") }
        return router
    }

    static func serve(
        _ router: HTTPRouter, port: Int = 0, tls: WebSocketServerTLS? = nil
    ) async throws -> (HTTPServer, Task<Void, any Error>) {
        var configuration = HTTPServerConfiguration()
        configuration.eventStream.retry = .milliseconds(50)
        // A restart on the port just freed can find it taken for a moment by another test
        // binding port 0 in parallel: try again for up to 2 s.
        var attempt = 0
        while true {
            do {
                let server = try await HTTPServer.bind(
                    host: "127.0.0.1", port: port, router: router, configuration: configuration, tls: tls,
                    accessLogger: nil)
                return (server, Task { try await server.run() })
            } catch let error as IOError where error.errnoCode == EADDRINUSE && port != 0 && attempt < 40 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    @Test func clientReconnectsWithLastEventIDAndStopsOn204() async throws {
        let requests = NIOLockedValueBox<[String?]>([])
        let (server, running) = try await Self.serve(Self.counter(requests: requests))
        defer { server.shutdown() }
        let source = try EventSource(url: "http://127.0.0.1:\(server.localAddress.port!)/count?n=5")
        let received = try await withTimeout {
            var received: [ServerSentEventParser.Event] = []
            for try await event in source.events() { received.append(event) }
            return received
        }
        #expect(received.map(\.data) == (1...5).map { "tick \($0)" })
        #expect(received.map(\.lastEventID) == (1...5).map(String.init))
        #expect(received.allSatisfy { $0.type == "tick" })
        #expect(requests.withLockedValue { $0 } == [nil, "2", "4", "5"])
        #expect(source.lastEventID == "5")
        server.shutdown()
        try await running.value
    }

    @Test func clientParsesChunksSplitAnywhereAndDropsTheIncompleteEvent() async throws {
        let (server, running) = try await Self.serve(Self.counter(requests: NIOLockedValueBox([])))
        var configuration = EventSourceConfiguration()
        configuration.reconnects = false
        let source = try EventSource(
            url: "http://127.0.0.1:\(server.localAddress.port!)/raw", configuration: configuration)
        let updates = try await withTimeout {
            var updates: [String] = []
            for try await update in source.updates() {
                switch update {
                case .open: updates.append("open")
                case .event(let event): updates.append("\(event.type):\(event.data):\(event.lastEventID)")
                case .disconnected(let wasOpen, let cleanly, _): updates.append("disconnected \(wasOpen) \(cleanly)")
                case .reconnecting: updates.append("reconnecting")
                }
            }
            return updates
        }
        // The id with NUL is ignored; "data: half" never got its blank line.
        #expect(updates == ["open", "message:split\nx:", "message:n:", "disconnected true true"])
        server.shutdown()
        try await running.value
    }

    @Test func clientFailsOnAStatusOtherThan200AndOnAnotherContentType() async throws {
        let (server, running) = try await Self.serve(Self.counter(requests: NIOLockedValueBox([])))
        let port = server.localAddress.port!
        for (path, kind) in [("/missing", EventSourceError.Kind.badStatus), ("/text", .badContentType)] {
            let source = try EventSource(url: "http://127.0.0.1:\(port)\(path)")
            await #expect(throws: EventSourceError.self) {
                try await withTimeout {
                    for try await _ in source.events() {}
                }
            }
            do {
                for try await _ in try EventSource(url: "http://127.0.0.1:\(port)\(path)").events() {}
            } catch let error as EventSourceError {
                #expect(error.kind == kind)
            }
        }
        #expect(throws: EventSourceError.self) { try EventSource(url: "ws://127.0.0.1/") }
        server.shutdown()
        try await running.value
    }

    @Test func clientGivesUpAfterMaxReconnectsWhenNothingListens() async throws {
        // Bind and close a server to find a port where nothing listens.
        let (server, running) = try await Self.serve(HTTPRouter())
        let port = server.localAddress.port!
        server.shutdown()
        try await running.value
        var configuration = EventSourceConfiguration()
        configuration.reconnectionTime = .milliseconds(10)
        configuration.maxReconnects = 2
        let source = try EventSource(url: "http://127.0.0.1:\(port)/", configuration: configuration)
        let attempts = NIOLockedValueBox(0)
        do {
            try await withTimeout {
                for try await update in source.updates() {
                    if case .reconnecting = update { attempts.withLockedValue { $0 += 1 } }
                }
            }
            Issue.record("expected the source to give up")
        } catch let error as EventSourceError {
            #expect(error.kind == .gaveUp)
        }
        #expect(attempts.withLockedValue { $0 } == 2)
    }

    @Test func clientResumesAcrossAServerRestartExactlyOnce() async throws {
        let requests = NIOLockedValueBox<[String?]>([])
        // The first server stops after event 5 until it is shut down, so the restart always
        // falls in the middle of the stream, however slowly the test runs.
        let restarted = NIOLockedValueBox(false)
        var router = HTTPRouter()
        router.eventStream("/slow", accept: { request in
            requests.withLockedValue { $0.append(request.headers.first(name: "Last-Event-ID")) }
            let last = Int(request.headers.first(name: "Last-Event-ID") ?? "") ?? 0
            return last >= 20 ? HTTPResponse(status: .noContent) : nil
        }) { _, stream in
            for number in ((Int(stream.lastEventID ?? "") ?? 0) + 1)...20 {
                try stream.send(ServerSentEvent(id: String(number), data: "n\(number)"))
                try await Task.sleep(for: .milliseconds(20))
                if number == 5, !restarted.withLockedValue({ $0 }) { try await Task.sleep(for: .seconds(60)) }
            }
        }
        let (first, firstRunning) = try await Self.serve(router)
        let port = first.localAddress.port!
        let source = try EventSource(url: "http://127.0.0.1:\(port)/slow")
        let received = NIOLockedValueBox<[String]>([])
        let reading = Task {
            for try await event in source.events() { received.withLockedValue { $0.append(event.data) } }
        }
        try await waitFor { received.withLockedValue { $0.count } >= 5 }
        restarted.withLockedValue { $0 = true }
        first.shutdown()
        try await firstRunning.value
        let (second, secondRunning) = try await Self.serve(router, port: port)
        try await withTimeout { try await reading.value }
        #expect(received.withLockedValue { $0 } == (1...20).map { "n\($0)" })
        let lastIDs = requests.withLockedValue { $0 }
        #expect(lastIDs.first == .some(nil))
        #expect(lastIDs.count >= 3 && lastIDs.dropFirst().allSatisfy { $0 != nil })
        second.shutdown()
        try await secondRunning.value
    }

    @Test func clientReadsAStreamOverTLS() async throws {
        let certificate = try TemporaryCertificate()
        defer { certificate.remove() }
        let tls = WebSocketServerTLS(certificateChainFile: certificate.certificate, privateKeyFile: certificate.key)
        let (server, running) = try await Self.serve(Self.counter(requests: NIOLockedValueBox([])), tls: tls)
        var configuration = EventSourceConfiguration()
        var clientTLS = TLSConfiguration.makeClientConfiguration()
        clientTLS.trustRoots = .file(certificate.certificate)
        configuration.tls = clientTLS
        let source = try EventSource(
            url: "https://127.0.0.1:\(server.localAddress.port!)/count?n=3", configuration: configuration)
        let data = try await withTimeout {
            var data: [String] = []
            for try await event in source.events() { data.append(event.data) }
            return data
        }
        #expect(data == ["tick 1", "tick 2", "tick 3"])
        server.shutdown()
        try await running.value
    }
}
