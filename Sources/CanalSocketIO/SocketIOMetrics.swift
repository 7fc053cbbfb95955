import Metrics

/// What the server reports through swift-metrics, to `SocketIOServerOptions.metricsFactory`
/// (the bootstrapped `MetricsSystem.factory` by default, a no-op until one is bootstrapped):
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
    let connectedSockets: Meter
    let eventsReceived: Counter
    let packetsSent: Counter
    let broadcasts: Counter
    let droppedPackets: Counter
    private let disconnects: [SocketIODisconnectReason: Counter]

    init(factory: any MetricsFactory) {
        connectedSockets = Meter(label: "socketio_connected_sockets", factory: factory)
        eventsReceived = Counter(label: "socketio_events_received_total", factory: factory)
        packetsSent = Counter(label: "socketio_packets_sent_total", factory: factory)
        broadcasts = Counter(label: "socketio_broadcasts_total", factory: factory)
        droppedPackets = Counter(label: "socketio_dropped_packets_total", factory: factory)
        var disconnects: [SocketIODisconnectReason: Counter] = [:]
        for reason in SocketIODisconnectReason.allCases {
            disconnects[reason] = Counter(
                label: "socketio_disconnects_total", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        self.disconnects = disconnects
    }

    func disconnect(_ reason: SocketIODisconnectReason) {
        disconnects[reason]?.increment()
    }
}
