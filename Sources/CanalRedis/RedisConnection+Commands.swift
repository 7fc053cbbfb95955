import NIOCore

extension RedisConnection {
    public func send(_ command: RedisCommand, timeout: TimeAmount?) -> EventLoopFuture<RESPValue> {
        var bytes = ByteBuffer()
        RESPEncoder.encode(command, into: &bytes)
        let expected = Self.replyCount(of: command)
        return enqueue(bytes: bytes, expected: expected, timeout: timeout ?? configuration.commandTimeout)
            .flatMapThrowing { replies in
                let reply = replies[replies.count - 1]
                if case .error(let message) = reply { throw RedisError(.server, message) }
                return reply
            }
    }

    public func send(pipeline commands: [RedisCommand]) -> EventLoopFuture<[RESPValue]> {
        guard !commands.isEmpty else { return eventLoop.makeSucceededFuture([]) }
        var bytes = ByteBuffer()
        for command in commands { RESPEncoder.encode(command, into: &bytes) }
        let expected = commands.reduce(0) { $0 + Self.replyCount(of: $1) }
        return enqueue(bytes: bytes, expected: expected, timeout: configuration.commandTimeout)
    }

    /// How many replies a command gets: one, but (UN)SUBSCRIBE-family commands get one
    /// confirmation per name (RESP2 pub/sub).
    static func replyCount(of command: RedisCommand) -> Int {
        switch command.name {
        case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE":
            return max(1, command.arguments.count - 1)
        default:
            return 1
        }
    }

    func enqueue(bytes: ByteBuffer, expected: Int, timeout: TimeAmount) -> EventLoopFuture<[RESPValue]> {
        let promise = eventLoop.makePromise(of: [RESPValue].self)
        onLoop {
            let pending = self.makePending(bytes: bytes, expected: expected, promise: promise, timeout: timeout)
            switch self.phase {
            case .closed:
                self.fail(pending, RedisError(.closed, "closed"))
            case .ready:
                self.write(pending)
            case .idle, .connecting, .handshaking, .waitingToReconnect:
                guard self.queued.count < self.configuration.maxQueuedCommands else {
                    self.fail(pending, RedisError(.queueFull, "\(self.queued.count) commands wait for \(self.configuration.url)"))
                    return
                }
                self.queued.append(pending)
            }
        }
        return promise.futureResult
    }

    func makePending(bytes: ByteBuffer, expected: Int, promise: EventLoopPromise<[RESPValue]>, timeout: TimeAmount)
        -> Pending
    {
        nextID &+= 1
        let id = nextID
        var pending = Pending(id: id, bytes: bytes, expected: expected, promise: promise)
        pending.timer = eventLoop.scheduleTask(in: timeout) { self.timedOut(id) }
        return pending
    }

    /// Writes now; flushes once per turn of the loop, so that commands sent together
    /// leave in one system call (pipelining).
    func write(_ pending: Pending) {
        guard let channel else {
            queued.append(pending)
            return
        }
        inFlight.append(pending)
        channel.write(pending.bytes, promise: nil)
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.execute {
            self.flushScheduled = false
            self.channel?.flush()
        }
    }

    private func timedOut(_ id: UInt64) {
        if let index = queued.firstIndex(where: { $0.id == id }) {
            let pending = queued.remove(at: index)
            let reason = lastFailure.map { " (\($0))" } ?? ""
            pending.promise.fail(RedisError(.timeout, "\(configuration.url) was not reachable in time\(reason)"))
            return
        }
        guard let index = inFlight.firstIndex(where: { $0.id == id }) else { return }
        // Replies come in order: a late reply could not be told from the next one's.
        // Fail this command and drop the connection; the others in flight fail as lost.
        let pending = inFlight.remove(at: index)
        pending.promise.fail(RedisError(.timeout, "no reply from \(configuration.url) in time"))
        logger.warning("! no reply from \(configuration.url) in time; reconnecting")
        lastFailure = "a command timed out"
        channel?.close(promise: nil)
    }

    func received(_ value: RESPValue, on channel: Channel) {
        eventLoop.assertInEventLoop()
        guard channel === self.channel else { return }
        if role == .subscriber, let message = Self.pubSubMessage(value) {
            subscriptions[message.kind]?[message.pattern ?? message.channel]?(message)
            return
        }
        guard !inFlight.isEmpty else {
            logger.debug("! \(configuration.url) sent a reply nobody asked for: \(value)")
            lastFailure = "unexpected reply"
            channel.close(promise: nil)
            return
        }
        inFlight[inFlight.startIndex].replies.append(value)
        guard inFlight[inFlight.startIndex].replies.count == inFlight[inFlight.startIndex].expected else { return }
        let done = inFlight.removeFirst()
        done.timer?.cancel()
        done.promise.succeed(done.replies)
    }

    func failQueued(_ error: RedisError) {
        while let pending = queued.popFirst() { fail(pending, error) }
    }

    func failInFlight(_ error: RedisError) {
        while let pending = inFlight.popFirst() { fail(pending, error) }
    }

    func fail(_ pending: Pending, _ error: RedisError) {
        pending.timer?.cancel()
        pending.promise.fail(error)
    }
}
