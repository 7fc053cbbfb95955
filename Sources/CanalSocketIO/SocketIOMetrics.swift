import Metrics

/// What the server reports through swift-metrics (a no-op unless the application bootstraps
/// a metrics backend):
///
/// | metric | kind | dimensions |
/// | --- | --- | --- |
/// | `socketio_connected_sockets` | meter (gauge) | |
/// | `socketio_events_received_total` | counter | |
/// | `socketio_packets_sent_total` | counter | |
/// | `socketio_broadcasts_total` | counter | |
/// | `socketio_dropped_packets_total` | counter | volatile packets not sent |
/// | `socketio_disconnects_total` | counter | `reason` |
struct SocketIOMetrics: Sendable {
    let connectedSockets = Meter(label: "socketio_connected_sockets")
    let eventsReceived = Counter(label: "socketio_events_received_total")
    let packetsSent = Counter(label: "socketio_packets_sent_total")
    let broadcasts = Counter(label: "socketio_broadcasts_total")
    let droppedPackets = Counter(label: "socketio_dropped_packets_total")
    private let disconnects: [SocketIODisconnectReason: Counter]

    init() {
        var disconnects: [SocketIODisconnectReason: Counter] = [:]
        for reason in SocketIODisconnectReason.allCases {
            disconnects[reason] = Counter(label: "socketio_disconnects_total", dimensions: [("reason", reason.rawValue)])
        }
        self.disconnects = disconnects
    }

    func disconnect(_ reason: SocketIODisconnectReason) {
        disconnects[reason]?.increment()
    }
}
