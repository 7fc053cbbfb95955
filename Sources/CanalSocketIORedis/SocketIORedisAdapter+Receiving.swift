import CanalSocketIO
import CanalSocketIOCore
import NIOCore

extension SocketIORedisAdapter {
    /// A message read from the stream (on the cluster's event loop, in stream order).
    func received(_ message: SocketIOClusterMessage, id: String) {
        let fromSelf = message.uid == cluster.uid
        if !fromSelf, message.uid != "emitter" {
            // Any message tells that its server is alive.
            state.withLockedValue { $0.nodes[message.uid] = .now() }
        }
        let data = message.data
        switch message.type {
        case .initialHeartbeat:
            if !fromSelf { publish(.heartbeat) }
        case .heartbeat:
            break
        case .adapterClose:
            if !fromSelf { forget(message.uid) }
        case .broadcast:
            guard let packet = SocketIOClusterData.packet(data?["packet"]) else { return }
            let options = SocketIOClusterData.options(data?["opts"])
            if let requestID = data?["requestId"]?.stringValue {
                if !fromSelf { answerBroadcastWithAck(packet, options: options, requestID: requestID, from: message) }
            } else {
                deliver(packet, options: options, offset: id)
            }
        case .socketsJoin, .socketsLeave:
            guard !fromSelf else { return }
            let options = SocketIOClusterData.options(data?["opts"])
            let rooms = Set((data?["rooms"]?.arrayValue ?? []).compactMap(\.stringValue))
            if message.type == .socketsJoin {
                local.addSockets(options, rooms: rooms)
            } else {
                local.removeSockets(options, rooms: rooms)
            }
        case .disconnectSockets:
            guard !fromSelf else { return }
            local.disconnectSockets(SocketIOClusterData.options(data?["opts"]), close: data?["close"]?.boolValue ?? false)
        case .fetchSockets:
            guard !fromSelf, let requestID = data?["requestId"]?.stringValue else { return }
            let options = SocketIOClusterData.options(data?["opts"])
            Task {
                let sockets = (try? await local.fetchSockets(options)) ?? []
                publish(.fetchSocketsResponse, [
                    "requestId": .string(requestID), "sockets": .array(sockets.map(SocketIOClusterData.socket)),
                ])
            }
        case .serverSideEmit:
            guard !fromSelf, let arguments = data?["packet"]?.arrayValue else { return }
            var reply: (@Sendable ([SocketIOValue]) -> Void)?
            if let requestID = data?["requestId"]?.stringValue {
                reply = { answer in
                    self.publish(.serverSideEmitResponse, ["requestId": .string(requestID), "packet": answer.first ?? .null])
                }
            }
            context.serverSideEvents.receive(arguments, reply: reply)
        case .fetchSocketsResponse:
            respond(to: data, from: message.uid, with: data?["sockets"] ?? .array([]))
        case .serverSideEmitResponse:
            respond(to: data, from: message.uid, with: data?["packet"] ?? .null)
        case .broadcastClientCount:
            guard let requestID = data?["requestId"]?.stringValue, let count = data?["clientCount"]?.intValue else { return }
            // Replaces the placeholder counted for that server.
            state.withLockedValue { $0.ackRequests[requestID] }?.expect(count - 1)
        case .broadcastAck:
            guard let requestID = data?["requestId"]?.stringValue else { return }
            state.withLockedValue { $0.ackRequests[requestID] }?.response([data?["packet"] ?? .null])
        }
    }

    /// Sends a broadcast read from the stream to the local sockets it reaches. With
    /// recovery on, events carry their entry id as offset.
    private func deliver(_ packet: SocketIOPacket, options: SocketIOBroadcastOptions, offset: String) {
        var packet = packet
        var ids = local.localSocketIDs(options)
        if context.recovery != nil, packet.id == nil, !options.flags.volatile, case .array(var arguments) = packet.data {
            arguments.append(.string(offset))
            packet.data = .array(arguments)
            let skips = state.withLockedValue { $0.skipUpTo }
            if !skips.isEmpty, let entry = StreamID(offset) {
                // The recovered client saw these already (through its old server).
                for (socketID, last) in skips where entry <= last { ids.remove(socketID) }
            }
        }
        context.deliver(packet, to: ids, volatile: options.flags.volatile)
    }

    private func answerBroadcastWithAck(
        _ packet: SocketIOPacket, options: SocketIOBroadcastOptions, requestID: String, from message: SocketIOClusterMessage
    ) {
        var packet = packet
        // An id of this server's, so it cannot collide with the socket's own pending acks.
        packet.id = nextRemoteAckID()
        let timeout = TimeAmount.milliseconds(Int64(message.data?["opts"]?["flags"]?["timeout"]?.intValue ?? 5000))
        local.broadcastWithAck(
            packet, options: options, timeout: timeout,
            expect: { count in
                self.publish(.broadcastClientCount, ["requestId": .string(requestID), "clientCount": .number(SocketIONumber(count))])
            },
            response: { arguments in
                // The official adapter passes each client's first ack argument.
                self.publish(.broadcastAck, ["requestId": .string(requestID), "packet": arguments.first ?? .null])
            })
    }

    private func respond(to data: SocketIOValue?, from node: String, with answer: SocketIOValue) {
        guard let requestID = data?["requestId"]?.stringValue else { return }
        let done = state.withLockedValue { state -> Request? in
            guard var request = state.requests[requestID], request.missing.remove(node) != nil else { return nil }
            request.responses.append(answer)
            if request.missing.isEmpty {
                state.requests.removeValue(forKey: requestID)
                return request
            }
            state.requests[requestID] = request
            return nil
        }
        if let done {
            done.timer?.cancel()
            done.complete(.success(done.responses))
        }
    }

    /// Drops servers not heard of within the heartbeat timeout.
    func forgetSilentNodes() {
        let oldest = NIODeadline.now() - options.heartbeatTimeout
        let silent = state.withLockedValue { $0.nodes.filter { $0.value < oldest }.map(\.key) }
        for node in silent {
            cluster.logger.info("= server \(node) seems down (\(namespace))")
            forget(node)
        }
    }

    /// A server left: nobody waits for its answers any more.
    private func forget(_ node: String) {
        let done = state.withLockedValue { state -> [Request] in
            state.nodes.removeValue(forKey: node)
            var done: [Request] = []
            for (id, var request) in state.requests where request.missing.remove(node) != nil {
                if request.missing.isEmpty {
                    state.requests.removeValue(forKey: id)
                    done.append(request)
                } else {
                    state.requests[id] = request
                }
            }
            return done
        }
        for request in done {
            request.timer?.cancel()
            request.complete(.success(request.responses))
        }
    }
}
