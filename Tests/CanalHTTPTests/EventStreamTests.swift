import CanalHTTP
import CanalSSECore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@Suite struct EventStreamTests {
    /// Counts up from the client's Last-Event-ID, `count` events, then ends.
    static func counter(count: Int) -> HTTPRouter {
        var router = HTTPRouter()
        router.eventStream("/count") { request, stream in
            let start = Int(stream.lastEventID ?? "") ?? 0
            for index in (start + 1)...(start + count) {
                try stream.send(ServerSentEvent(event: "tick", id: String(index), data: "n=\(index)\nline two"))
            }
        }
        router.get("/after") { _ in .text("next request\n") }
        return router
    }

    @Test func serverStreamsEventsEndsAndKeepsTheConnectionForTheNextRequest() async throws {
        try await withEventStreamServer(Self.counter(count: 2)) { server in
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            try await connection.send("GET /count HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 40\r\n\r\n")
            let (head, body) = try await connection.stream { _, body in body.ended }
            #expect(head.status == 200)
            #expect(head.header("Content-Type") == "text/event-stream")
            #expect(head.header("Cache-Control") == "no-store")
            #expect(head.header("Transfer-Encoding") == "chunked")
            #expect(
                body.text
                    == "event: tick\nid: 41\ndata: n=41\ndata: line two\n\nevent: tick\nid: 42\ndata: n=42\ndata: line two\n\n")
            try await connection.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
            let deadline = ContinuousClock.now + .seconds(20)
            while !String(decoding: connection.bytes, as: UTF8.self).contains("next request") {
                #expect(ContinuousClock.now < deadline)
                if ContinuousClock.now >= deadline { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(!connection.isClosed)
        }
    }

    @Test func serverRefusesThroughTheAcceptHookAndAllowsOnlyGET() async throws {
        var router = HTTPRouter()
        router.eventStream("/private", accept: { request in
            request.headers.first(name: "Authorization") == nil ? .text("no\n", status: .unauthorized) : nil
        }) { _, stream in stream.comment("welcome") }
        try await withEventStreamServer(router) { server in
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            try await connection.send("GET /private HTTP/1.1\r\nHost: x\r\n\r\nPOST /private HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            let responses = try await connection.responses(2)
            #expect(responses[0].status == 401)
            #expect(responses[1].status == 405)
            #expect(responses[1].header("Allow") == "GET, OPTIONS")
        }
    }

    @Test func serverSendsHeartbeatCommentsWhileIdleAndRetryFirst() async throws {
        var router = HTTPRouter()
        router.eventStream("/idle") { _, stream in await stream.waitUntilEnded() }
        var configuration = HTTPServerConfiguration()
        configuration.eventStream.heartbeatInterval = .milliseconds(50)
        configuration.eventStream.retry = .milliseconds(1500)
        try await withEventStreamServer(router, configuration: configuration) { server in
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            try await connection.send("GET /idle HTTP/1.1\r\nHost: x\r\n\r\n")
            let (_, body) = try await connection.stream { _, body in body.text.hasPrefix("retry: 1500\n\n:\n:\n:\n") }
            var parser = ServerSentEventParser()
            #expect(try parser.parse(body.data) == [])
            #expect(parser.reconnectionTime == 1500)
        }
    }

    @Test func serverShutdownEndsOpenStreamsCleanlyAndClosesThem() async throws {
        var router = HTTPRouter()
        let ends = NIOLockedValueBox<[EventStream.End]>([])
        router.eventStream("/forever") { _, stream in
            try stream.send(ServerSentEvent(data: "hello"))
            let end = await stream.waitUntilEnded()
            ends.withLockedValue { $0.append(end) }
        }
        let server = try await HTTPServer.bind(
            host: "127.0.0.1", port: 0, router: router, eventLoopGroup: testServerGroup, accessLogger: nil)
        let running = Task { try await server.run() }
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try await connection.stream { _, body in body.text == "data: hello\n\n" }
        server.shutdown()
        try await withTimeout(.seconds(5), "shutdown") { try await running.value }
        try await connection.waitForClose()
        let (_, body) = try await connection.stream { _, _ in true }
        #expect(body.ended, "the last chunk came before the close")
        try await Task.sleep(for: .milliseconds(50))
        #expect(ends.withLockedValue { $0 } == [.serverShutdown])
    }

    @Test func serverCancelsTheHandlerWhenTheClientLeaves() async throws {
        var router = HTTPRouter()
        let outcome = NIOLockedValueBox<String?>(nil)
        router.eventStream("/wait") { _, stream in
            stream.comment()
            do {
                try await Task.sleep(for: .seconds(30))
                outcome.withLockedValue { $0 = "slept" }
            } catch {
                outcome.withLockedValue { $0 = "cancelled, open=\(stream.isOpen)" }
            }
        }
        try await withEventStreamServer(router) { server in
            let connection = try await RawConnection.connect(port: server.port)
            try await connection.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = try await connection.stream { _, body in body.text == ":\n" }
            connection.close()
            let deadline = ContinuousClock.now + .seconds(20)
            while outcome.withLockedValue({ $0 }) == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(outcome.withLockedValue { $0 } == "cancelled, open=false")
        }
    }

    @Test func broadcasterReplaysEventsAfterLastEventIDExactlyOnce() async throws {
        let feed = EventStreamBroadcaster(history: 5)
        let resumptions = NIOLockedValueBox<[EventStreamBroadcaster.Resumption]>([])
        var router = HTTPRouter()
        router.eventStream("/feed") { _, stream in
            let resumption = feed.add(stream)
            resumptions.withLockedValue { $0.append(resumption) }
            await stream.waitUntilEnded()
        }
        try await withEventStreamServer(router) { server in
            for index in 1...8 { try feed.broadcast(ServerSentEvent(id: "\(index)", data: "e\(index)")) }
            for (lastID, expected) in [("6", "e7e8e9"), ("1", "e9"), (nil, "e9")] as [(String?, String)] {
                let connection = try await RawConnection.connect(port: server.port)
                defer { connection.close() }
                let header = lastID.map { "Last-Event-ID: \($0)\r\n" } ?? ""
                try await connection.send("GET /feed HTTP/1.1\r\nHost: x\r\n\(header)\r\n")
                try await waitFor { feed.subscriberCount == 1 }
                try feed.broadcast(ServerSentEvent(id: "9", data: "e9"))
                let (_, body) = try await connection.stream { _, body in body.text.contains("e9") }
                var parser = ServerSentEventParser()
                let data = try parser.parse(body.data).map(\.data).joined()
                #expect(data == expected, "after \(lastID ?? "nothing")")
                connection.close()
                try await waitFor { feed.subscriberCount == 0 }
            }
            #expect(resumptions.withLockedValue { $0 } == [.replayed(2), .unknownID, .fresh])
        }
    }

    @Test func meterCountsTheBytesOfARouteOnTheWire() async throws {
        var router = HTTPRouter()
        let meter = HTTPTrafficMeter()
        router.get("/metered") { _ in .text("12345") }
        router.get("/other") { _ in .text("not counted") }
        router.meter("/metered", with: meter)
        try await withEventStreamServer(router) { server in
            let connection = try await RawConnection.connect(port: server.port)
            defer { connection.close() }
            let first = "GET /metered HTTP/1.1\r\nHost: x\r\n\r\n"
            let second = "GET /other HTTP/1.1\r\nHost: x\r\n\r\n"
            try await connection.send(first)
            _ = try await connection.responses(1)
            let afterFirst = connection.bytes.count
            try await connection.send(second)
            _ = try await connection.responses(2)
            try await connection.send(first)
            _ = try await connection.responses(3)
            let total = connection.bytes.count
            let otherBytes = total - afterFirst
            // The /other response sits between the two metered ones; its size is what the
            // third response adds beyond the first's.
            let snapshot = meter.snapshot
            #expect(snapshot.requests == 2)
            #expect(snapshot.bytesReceived == 2 * first.utf8.count)
            #expect(snapshot.bytesSent == 2 * afterFirst)
            #expect(otherBytes > afterFirst)
        }
    }
}

/// Polls `condition` every 10 ms for up to 20 s (a bound for a failing run only).
func waitFor(_ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: "condition") }
        try await Task.sleep(for: .milliseconds(10))
    }
}
