import CanalSocketIO
import CanalSocketIOCore
import MetricsTestKit
import Testing

@Suite(.timeLimit(.minutes(1)))
struct SocketIOMetricsTests {
    @Test func serverCountsSocketsEventsBroadcastsAndDisconnectReasons() async throws {
        let metrics = TestMetrics()
        var options = SocketIOServerOptions()
        options.metricsFactory = metrics
        try await withSocketIOServer(options: options, configure: { io in
            io.onConnection { socket in
                socket.on("shout") { event in try? io.emit("heard", arguments: event.arguments) }
            }
        }) { port, _ in
            try await withRawClient(port: port) { client in
                _ = try await client.handshake()
                #expect(try metrics.expectMeter("socketio_connected_sockets").lastValue == 1)
                try await client.send(#"42["shout","hi"]"#)
                #expect(try await client.nextText() == #"42["heard","hi"]"#)
                #expect(try metrics.expectCounter("socketio_events_received_total").totalValue == 1)
                #expect(try metrics.expectCounter("socketio_broadcasts_total").totalValue == 1)
                // The CONNECT answer and the broadcast.
                #expect(try metrics.expectCounter("socketio_packets_sent_total").totalValue == 2)
                try await client.send("41")
                try await client.send("1")
                #expect(try await client.next() == nil)
            }
        }
        let reason = [("reason", "client namespace disconnect")]
        #expect(try metrics.expectCounter("socketio_disconnects_total", reason).totalValue == 1)
        #expect(try metrics.expectMeter("socketio_connected_sockets").lastValue == 0)
    }
}
