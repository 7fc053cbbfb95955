import NIOCore

/// One entry of a Redis stream: its id (`<milliseconds>-<sequence>`) and its fields in order.
public struct RedisStreamEntry: Sendable, Hashable {
    public var id: String
    public var fields: [(String, ByteBuffer)]

    public init(id: String, fields: [(String, ByteBuffer)]) {
        self.id = id
        self.fields = fields
    }

    /// The value of the first field of this name.
    public subscript(field: String) -> ByteBuffer? {
        fields.first { $0.0 == field }?.1
    }

    public static func == (a: RedisStreamEntry, b: RedisStreamEntry) -> Bool {
        a.id == b.id && a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        for (name, value) in fields {
            hasher.combine(name)
            hasher.combine(value)
        }
    }

    /// Reads `[id, [field, value, ...]]`.
    init(_ value: RESPValue) throws(RedisError) {
        guard case .array(let parts) = value, parts.count == 2, let id = parts[0].string,
            case .array(let flat) = parts[1], flat.count % 2 == 0
        else { throw RedisError(.unexpectedReply, "not a stream entry: \(value)") }
        var fields: [(String, ByteBuffer)] = []
        fields.reserveCapacity(flat.count / 2)
        var index = 0
        while index < flat.count {
            guard let name = flat[index].string, let bytes = flat[index + 1].bytes else {
                throw RedisError(.unexpectedReply, "not a stream field: \(flat[index])")
            }
            fields.append((name, bytes))
            index += 2
        }
        self.init(id: id, fields: fields)
    }

    static func list(_ value: RESPValue) throws(RedisError) -> [RedisStreamEntry] {
        if case .null = value { return [] }
        guard case .array(let items) = value else { throw RedisError(.unexpectedReply, "not a list of entries: \(value)") }
        var entries: [RedisStreamEntry] = []
        entries.reserveCapacity(items.count)
        for item in items { entries.append(try RedisStreamEntry(item)) }
        return entries
    }
}

/// The commands Canal uses, on any `RedisClient`.
extension RedisClient {
    public func ping() -> EventLoopFuture<RESPValue> { send(["PING"]) }

    public func get(_ key: String) -> EventLoopFuture<ByteBuffer?> {
        send(["GET", key]).map(\.bytes)
    }

    /// `SET key value [PX ms]`.
    public func set(_ key: String, _ value: ByteBuffer, expiresIn expiry: TimeAmount? = nil) -> EventLoopFuture<Void> {
        var command = RedisCommand("SET", key)
        command.append(value)
        if let expiry {
            command.append("PX")
            command.append(Int(max(1, expiry.nanoseconds / 1_000_000)))
        }
        return send(command).map { _ in }
    }

    /// Reads and deletes a key in one step. `MULTI GET DEL EXEC`, which Redis before 6.2
    /// (no `GETDEL`) has too.
    public func getAndDelete(_ key: String) -> EventLoopFuture<ByteBuffer?> {
        send(pipeline: [["MULTI"], ["GET", key], ["DEL", key], ["EXEC"]]).flatMapThrowing { replies in
            guard replies.count == 4, case .array(let results) = replies[3], results.count == 2 else {
                throw RedisError(.unexpectedReply, "MULTI/EXEC answered \(replies.last ?? .null)")
            }
            return results[0].bytes
        }
    }

    public func delete(_ keys: [String]) -> EventLoopFuture<Int> {
        send(RedisCommand(arguments: (["DEL"] + keys).map { ByteBuffer(string: $0) })).map { Int($0.integer ?? 0) }
    }

    /// `PUBLISH` (or `SPUBLISH` for a shard channel); the number of subscribers reached.
    public func publish(_ payload: ByteBuffer, to channel: String, sharded: Bool = false) -> EventLoopFuture<Int> {
        var command = RedisCommand(sharded ? "SPUBLISH" : "PUBLISH", channel)
        command.append(payload)
        return send(command).map { Int($0.integer ?? 0) }
    }

    /// `XADD stream [MAXLEN ~ n] * field value ...`; the new entry's id.
    public func xadd(_ stream: String, fields: [(String, ByteBuffer)], maxLength: Int? = nil)
        -> EventLoopFuture<String>
    {
        send(Self.xaddCommand(stream, fields: fields, maxLength: maxLength)).flatMapThrowing { reply in
            guard let id = reply.string else { throw RedisError(.unexpectedReply, "XADD answered \(reply)") }
            return id
        }
    }

    static func xaddCommand(_ stream: String, fields: [(String, ByteBuffer)], maxLength: Int?) -> RedisCommand {
        var command = RedisCommand("XADD", stream)
        if let maxLength {
            // "~": trim in whole macro-nodes, which is much cheaper than exact trimming.
            command.append("MAXLEN")
            command.append("~")
            command.append(maxLength)
        }
        command.append("*")
        for (name, value) in fields {
            command.append(name)
            command.append(value)
        }
        return command
    }

    /// `XREAD [COUNT n] [BLOCK ms] STREAMS stream id`: the entries after `id` (`$` for
    /// only new ones). With `block`, waits that long for one; the client's timeout is the
    /// block time plus the command timeout. Use a `duplicate()` client for blocking reads.
    public func xread(_ stream: String, after id: String, count: Int? = nil, block: TimeAmount? = nil)
        -> EventLoopFuture<[RedisStreamEntry]>
    {
        var command = RedisCommand("XREAD")
        if let count {
            command.append("COUNT")
            command.append(count)
        }
        var timeout: TimeAmount?
        if let block {
            command.append("BLOCK")
            command.append(Int(block.nanoseconds / 1_000_000))
            timeout = block + .seconds(5)
        }
        command.append("STREAMS")
        command.append(stream)
        command.append(id)
        return send(command, timeout: timeout).flatMapThrowing { reply in
            // [[stream, [entry, ...]]], or null when the block time passed.
            if case .null = reply { return [] }
            guard case .array(let streams) = reply, let first = streams.first, case .array(let pair) = first,
                pair.count == 2
            else { throw RedisError(.unexpectedReply, "XREAD answered \(reply)") }
            return try RedisStreamEntry.list(pair[1])
        }
    }

    /// `XREVRANGE stream end start [COUNT n]`: the same, newest first (`+ - COUNT 1` is the last entry).
    public func xrevrange(_ stream: String, from end: String, to start: String, count: Int? = nil)
        -> EventLoopFuture<[RedisStreamEntry]>
    {
        var command = RedisCommand("XREVRANGE", stream, end, start)
        if let count {
            command.append("COUNT")
            command.append(count)
        }
        return send(command).flatMapThrowing { try RedisStreamEntry.list($0) }
    }

    /// `XRANGE stream start end [COUNT n]`: entries from `start` to `end` inclusive
    /// (`-` and `+` for the ends of the stream).
    public func xrange(_ stream: String, from start: String, to end: String, count: Int? = nil)
        -> EventLoopFuture<[RedisStreamEntry]>
    {
        var command = RedisCommand("XRANGE", stream, start, end)
        if let count {
            command.append("COUNT")
            command.append(count)
        }
        return send(command).flatMapThrowing { try RedisStreamEntry.list($0) }
    }
}
