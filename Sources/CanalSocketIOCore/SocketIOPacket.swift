import NIOCore

/// The Socket.IO v5 packet types.
public enum SocketIOPacketType: UInt8, Sendable, Hashable {
    case connect = 0, disconnect = 1, event = 2, ack = 3, connectError = 4, binaryEvent = 5, binaryAck = 6
}

/// One Socket.IO packet.
public struct SocketIOPacket: Sendable, Hashable {
    /// The packet type.
    public var type: SocketIOPacketType
    /// The namespace; `"/"` when absent on the wire.
    public var namespace: String
    /// The acknowledgement id.
    public var id: Int?
    /// CONNECT: object or nil; EVENT/ACK: array; CONNECT_ERROR: object or string; DISCONNECT: nil.
    public var data: SocketIOValue?

    public init(type: SocketIOPacketType, namespace: String = "/", id: Int? = nil, data: SocketIOValue? = nil) {
        self.type = type
        self.namespace = namespace
        self.id = id
        self.data = data
    }
}

/// Writes packets in the Socket.IO v5 text form.
public enum SocketIOPacketEncoder {
    /// Appends the packet's text form to `buffer` (the caller may already have written the Engine.IO "4" prefix) and
    /// returns the binary attachments in order. If `packet.data` contains `.binary` values, type event/ack becomes
    /// binaryEvent/binaryAck ("51-" / "61-" with the attachment count), and each binary is replaced by
    /// `{"_placeholder":true,"num":N}` in depth-first order (array elements in order, object members in order).
    public static func encode(_ packet: SocketIOPacket, into buffer: inout ByteBuffer) -> [ByteBuffer] {
        var type = packet.type
        let hasBinary = packet.data?.containsBinary ?? false
        if hasBinary {
            if type == .event { type = .binaryEvent } else if type == .ack { type = .binaryAck }
        }
        buffer.writeInteger(UInt8(ascii: "0") + type.rawValue)
        var attachmentCount = 0
        if type == .binaryEvent || type == .binaryAck {
            attachmentCount = packet.data.map(countBinaries) ?? 0
            buffer.writeString(String(attachmentCount))
            buffer.writeInteger(UInt8(ascii: "-"))
        }
        if !packet.namespace.isEmpty && packet.namespace != "/" {
            buffer.writeString(packet.namespace)
            buffer.writeInteger(UInt8(ascii: ","))
        }
        if let id = packet.id { buffer.writeString(String(id)) }
        guard let data = packet.data else { return [] }
        var w = JSONWriter(placeholders: type == .binaryEvent || type == .binaryAck)
        w.write(data, into: &buffer)
        return w.attachments
    }

    static func countBinaries(_ v: SocketIOValue) -> Int {
        switch v {
        case .binary: return 1
        case .array(let a): return a.reduce(0) { $0 + countBinaries($1) }
        case .object(let o): return o.reduce(0) { $0 + countBinaries($1.1) }
        default: return 0
        }
    }
}

/// Limits the decoder enforces.
public struct SocketIODecoderLimits: Sendable, Hashable {
    /// Most attachments one binary packet may announce. Default 10, as socket.io-parser's `maxAttachments`
    /// default: the decoder buffers every attachment until the last arrives, so the count bounds that memory.
    public var maxAttachments: Int
    /// Deepest array/object nesting of the JSON payload. Default 64.
    public var maxDepth: Int
    public init(maxAttachments: Int = 10, maxDepth: Int = 64) {
        self.maxAttachments = maxAttachments
        self.maxDepth = maxDepth
    }
}

/// A packet the decoder rejects.
public struct SocketIOParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why.
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { "Socket.IO parse error: \(message)" }
}

/// Decodes Socket.IO v5 packets, with the strictness of socket.io-parser 4.2's decoder.
public struct SocketIOPacketDecoder: Sendable {
    public let limits: SocketIODecoderLimits
    var pending: SocketIOPacket?
    var expected = 0
    var buffers: [ByteBuffer] = []

    public init(limits: SocketIODecoderLimits = SocketIODecoderLimits()) { self.limits = limits }

    /// Whether a binary packet is waiting for attachments.
    public var isAwaitingAttachments: Bool { pending != nil }

    /// Drops a partially received binary packet.
    public mutating func reset() {
        pending = nil
        expected = 0
        buffers = []
    }

    /// A text Engine.IO message (without the Engine.IO "4" prefix). Returns the packet, or nil when it is a binary
    /// packet waiting for its attachments. Throws on anything the official parser (socket.io-parser 4.2) rejects,
    /// or on a text packet arriving while attachments are awaited.
    public mutating func decode(text: ByteBuffer) throws(SocketIOParseError) -> SocketIOPacket? {
        if pending != nil { throw SocketIOParseError(message: "got plaintext data when reconstructing a packet") }
        let limits = self.limits
        let r: Result<(SocketIOPacket, Int), SocketIOParseError> = text.withUnsafeReadableBytes { raw in
            do throws(SocketIOParseError) { return .success(try Self.decodeText(raw.bindMemory(to: UInt8.self), limits: limits)) } catch {
                return .failure(error)
            }
        }
        let (packet, attachments) = try r.get()
        if packet.type == .binaryEvent || packet.type == .binaryAck, attachments > 0 {
            pending = packet
            expected = attachments
            buffers = []
            buffers.reserveCapacity(attachments)
            return nil
        }
        return packet
    }

    /// A binary Engine.IO message: the next attachment. Returns the finished packet (placeholders replaced by
    /// `.binary`) after the last one, nil before. Throws if no binary packet is waiting, or a placeholder is invalid.
    public mutating func decode(binary: ByteBuffer) throws(SocketIOParseError) -> SocketIOPacket? {
        guard var packet = pending else { throw SocketIOParseError(message: "got binary data when not reconstructing a packet") }
        buffers.append(binary)
        if buffers.count < expected { return nil }
        let bufs = buffers
        reset()
        if let d = packet.data { packet.data = try Self.reconstruct(d, bufs) }
        return packet
    }

    static func reconstruct(_ v: SocketIOValue, _ bufs: [ByteBuffer]) throws(SocketIOParseError) -> SocketIOValue {
        switch v {
        case .array(let a):
            var out: [SocketIOValue] = []
            out.reserveCapacity(a.count)
            for e in a { out.append(try reconstruct(e, bufs)) }
            return .array(out)
        case .object(let o):
            if o["_placeholder"] == .bool(true) {
                guard case .number(let n)? = o["num"], let d = Double(n.literal), d >= 0, d < Double(bufs.count),
                    d == d.rounded()
                else { throw SocketIOParseError(message: "illegal attachments") }
                return .binary(bufs[Int(d)])
            }
            var out = SocketIOObject()
            for (k, e) in o { out.appendUnchecked(k, try reconstruct(e, bufs)) }
            return .object(out)
        default:
            return v
        }
    }

    static let reservedEvents: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]

    static func decodeText(_ b: UnsafeBufferPointer<UInt8>, limits: SocketIODecoderLimits) throws(SocketIOParseError)
        -> (SocketIOPacket, Int)
    {
        func err(_ m: String) -> SocketIOParseError { SocketIOParseError(message: m) }
        let n = b.count
        guard n > 0, b[0] &- 48 < 7, let type = SocketIOPacketType(rawValue: b[0] &- 48) else {
            throw err("unknown packet type")
        }
        var i = 1
        var attachments = 0
        if type == .binaryEvent || type == .binaryAck {
            let s = i
            while i < n, b[i] != UInt8(ascii: "-") {
                guard b[i] &- 48 < 10, i - s < 10 else { throw err("illegal attachments") }
                attachments = attachments * 10 + Int(b[i] &- 48)
                i += 1
            }
            guard i < n, i > s else { throw err("illegal attachments") }
            if attachments > limits.maxAttachments { throw err("too many attachments") }
            i += 1
        }
        var namespace = "/"
        if i < n, b[i] == UInt8(ascii: "/") {
            let s = i
            while i < n, b[i] != UInt8(ascii: ",") { i += 1 }
            guard let ns = String(validating: UnsafeBufferPointer(rebasing: b[s..<i]), as: UTF8.self) else {
                throw err("invalid namespace")
            }
            namespace = ns
            if i < n { i += 1 }  // the ","
        }
        var id: Int? = nil
        if i < n, b[i] &- 48 < 10 {
            var v = 0
            while i < n, b[i] &- 48 < 10 {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(b[i] &- 48))
                if o1 || o2 { throw err("invalid ack id") }
                v = a
                i += 1
            }
            id = v
        }
        var data: SocketIOValue? = nil
        if i < n {
            let payload = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(b)[i..<n])
            var p = JSONParser(payload, maxDepth: limits.maxDepth)
            do throws(SocketIOJSONError) { data = try p.parseDocument() } catch { throw err("invalid payload: \(error.message)") }
        }
        if let d = data {
            let ok: Bool
            switch type {
            case .connect: ok = d.objectValue != nil
            case .disconnect: ok = false
            case .connectError: ok = d.objectValue != nil || d.stringValue != nil
            case .event, .binaryEvent:
                if let a = d.arrayValue, let first = a.first {
                    if case .number = first { ok = true } else if let s = first.stringValue {
                        ok = !reservedEvents.contains(s)
                    } else { ok = false }
                } else { ok = false }
            case .ack, .binaryAck: ok = d.arrayValue != nil
            }
            if !ok { throw err("invalid payload") }
        } else if type == .event || type == .binaryEvent {
            // socket.io-parser 4.2 accepts an event without payload; the server cannot dispatch it.
            throw err("invalid payload")
        }
        return (SocketIOPacket(type: type, namespace: namespace, id: id, data: data), attachments)
    }
}
