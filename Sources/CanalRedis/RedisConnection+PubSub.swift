import NIOCore

extension RedisConnection {
    public func subscribe(
        _ names: [String], kind: RedisSubscriptionKind,
        handler: @escaping @Sendable (RedisPubSubMessage) -> Void
    ) -> EventLoopFuture<Void> {
        guard !names.isEmpty else { return eventLoop.makeSucceededVoidFuture() }
        return eventLoop.flatSubmit {
            let subscriber = self.subscriberConnection()
            return subscriber.eventLoop.flatSubmit {
                // Handlers first: a message may follow the confirmation at once.
                for name in names { subscriber.subscriptions[kind, default: [:]][name] = handler }
                return subscriber.send(RedisCommand(arguments: ([kind.subscribeCommand] + names).map { ByteBuffer(string: $0) }))
                    .map { _ in }
            }
        }
    }

    public func unsubscribe(_ names: [String], kind: RedisSubscriptionKind) -> EventLoopFuture<Void> {
        guard !names.isEmpty else { return eventLoop.makeSucceededVoidFuture() }
        return eventLoop.flatSubmit {
            guard let subscriber = self.subscriber else { return self.eventLoop.makeSucceededVoidFuture() }
            for name in names { subscriber.subscriptions[kind]?[name] = nil }
            return subscriber.send(RedisCommand(arguments: ([kind.unsubscribeCommand] + names).map { ByteBuffer(string: $0) }))
                .map { _ in }
        }
    }

    /// The second connection, in subscribe mode, made on first use (same event loop).
    private func subscriberConnection() -> RedisConnection {
        eventLoop.assertInEventLoop()
        if let subscriber { return subscriber }
        // The SSL context was made once already with this configuration: it cannot fail now.
        let made = try! RedisConnection(configuration: configuration, eventLoop: eventLoop, logger: logger, role: .subscriber)
        subscriber = made
        return made
    }

    /// The subscriptions to restore on a new connection, one command per kind.
    func resubscriptions() -> [RedisCommand] {
        guard role == .subscriber else { return [] }
        return RedisSubscriptionKind.allCases.compactMap { kind in
            guard let names = subscriptions[kind], !names.isEmpty else { return nil }
            return RedisCommand(arguments: ([kind.subscribeCommand] + names.keys.sorted()).map { ByteBuffer(string: $0) })
        }
    }

    /// A pushed message (`message`, `pmessage`, `smessage`), or nil for a reply.
    static func pubSubMessage(_ value: RESPValue) -> RedisPubSubMessage? {
        guard case .array(let parts) = value, let kind = parts.first?.string else { return nil }
        switch (kind, parts.count) {
        case ("message", 3):
            guard let channel = parts[1].string, let payload = parts[2].bytes else { return nil }
            return RedisPubSubMessage(kind: .channel, channel: channel, payload: payload)
        case ("smessage", 3):
            guard let channel = parts[1].string, let payload = parts[2].bytes else { return nil }
            return RedisPubSubMessage(kind: .shard, channel: channel, payload: payload)
        case ("pmessage", 4):
            guard let pattern = parts[1].string, let channel = parts[2].string, let payload = parts[3].bytes else {
                return nil
            }
            return RedisPubSubMessage(kind: .pattern, channel: channel, pattern: pattern, payload: payload)
        default:
            return nil
        }
    }
}
