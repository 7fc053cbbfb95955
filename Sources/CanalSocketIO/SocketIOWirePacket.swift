import CanalEngineIO
import CanalEngineIOCore
import CanalSocketIOCore
import NIOConcurrencyHelpers
import NIOCore

/// A Socket.IO packet encoded once, as the Engine.IO messages that carry it: the text
/// packet (its WebSocket frame shared by every receiver), then one binary message per
/// attachment.
struct SocketIOWirePacket: Sendable {
    let messages: [EngineOutgoingMessage]

    init(_ packet: SocketIOPacket, shared: Bool = true) {
        var text = ByteBuffer()
        text.reserveCapacity(64)
        text.writeInteger(EnginePacketType.message.digit)
        let attachments = SocketIOPacketEncoder.encode(packet, into: &text)
        var messages: [EngineOutgoingMessage] = []
        messages.reserveCapacity(1 + attachments.count)
        messages.append(shared ? EngineOutgoingMessage(webSocketText: text) : .single(webSocketText: text))
        for attachment in attachments {
            messages.append(shared ? EngineOutgoingMessage(.binary(attachment)) : .single(.binary(attachment)))
        }
        self.messages = messages
    }
}

/// The sockets of one namespace connected to this node, by id.
final class SocketIOLocalSockets: Sendable {
    private let sockets = NIOLockedValueBox<[String: SocketIOSocket]>([:])

    func add(_ socket: SocketIOSocket) {
        sockets.withLockedValue { $0[socket.id] = socket }
    }

    func remove(_ socket: SocketIOSocket) {
        sockets.withLockedValue { sockets in
            if sockets[socket.id] === socket { sockets.removeValue(forKey: socket.id) }
        }
    }

    func socket(_ id: String) -> SocketIOSocket? {
        sockets.withLockedValue { $0[id] }
    }

    var all: [SocketIOSocket] { sockets.withLockedValue { Array($0.values) } }
    var count: Int { sockets.withLockedValue { $0.count } }

    /// Looks the ids up, then writes the packet to each socket on its own event loop: one
    /// task per loop, and none for the loop we are on.
    func deliver(
        _ wire: SocketIOWirePacket, packet: SocketIOPacket, to ids: some Sequence<String>, volatile: Bool,
        ack: (@Sendable ([SocketIOValue]) -> Void)? = nil
    ) {
        var byLoop: [ObjectIdentifier: (EventLoop, [SocketIOSocket])] = [:]
        sockets.withLockedValue { sockets in
            for id in ids {
                guard let socket = sockets[id] else { continue }
                let key = ObjectIdentifier(socket.eventLoop)
                if byLoop[key] == nil { byLoop[key] = (socket.eventLoop, []) }
                byLoop[key]!.1.append(socket)
            }
        }
        for (_, (loop, targets)) in byLoop {
            if loop.inEventLoop {
                for socket in targets { socket.deliver(wire, packet: packet, volatile: volatile, ack: ack) }
            } else {
                loop.execute {
                    for socket in targets { socket.deliver(wire, packet: packet, volatile: volatile, ack: ack) }
                }
            }
        }
    }
}
