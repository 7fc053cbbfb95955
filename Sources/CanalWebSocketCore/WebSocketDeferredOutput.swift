import NIOCore

/// Data frames that wait for room in the transport: the rest of a message cut into
/// fragments (`outboundFragmentSize`), and everything sent after it, in order.
///
/// They leave one frame at a time, when the driver asks for them, so that a ping, a pong
/// or a close that fails the connection, queued meanwhile, goes out between two fragments
/// instead of behind the whole message (RFC 6455 §5.4: "control frames MAY be injected in
/// the middle of a fragmented message"). Every item counts once it has left, or once it is
/// discarded, so that the driver can tell the sender when its message was written.
struct WebSocketDeferredOutput {
    enum Item {
        /// A message still to cut into frames of at most `fragmentSize` payload bytes;
        /// `opcode` and `reservedBits` are those of its next frame.
        case message(data: ByteBuffer, opcode: WebSocketOpcode, reservedBits: UInt8, fragmentSize: Int)
        /// One frame, encoded (and masked, on a client) when it leaves.
        case frame(fin: Bool, opcode: WebSocketOpcode, payload: ByteBuffer)
        /// Bytes that already form frames (a shared or pre-encoded message): they leave a
        /// frame at a time too.
        case frames(ByteBuffer)
        /// A transport action that must follow the data before it.
        case transport(WebSocketOutput)
    }

    /// Encodes a frame; given by the connection, which owns the role and masking keys.
    typealias Encoder = (_ fin: Bool, _ reservedBits: UInt8, _ opcode: WebSocketOpcode, _ payload: ByteBuffer) ->
        ByteBuffer

    private var items = DrainingQueue<Item>()
    /// Items ever queued, and of those, the ones that left and the ones discarded.
    private(set) var queuedCount: UInt64 = 0
    private(set) var emittedCount: UInt64 = 0
    private(set) var discardedCount: UInt64 = 0

    var isEmpty: Bool { items.isEmpty }

    mutating func append(_ item: Item) {
        items.append(item)
        queuedCount += 1
    }

    /// The next frame or transport action, or nil when nothing waits.
    mutating func next(encode: Encoder) -> WebSocketOutput? {
        var finished = false
        let output: WebSocketOutput? = items.withFirst { item in
            switch item {
            case .message(var data, let opcode, let reservedBits, let fragmentSize):
                let fin = data.readableBytes <= fragmentSize
                let payload = data.readSlice(length: fin ? data.readableBytes : fragmentSize)!
                if fin {
                    finished = true
                } else {
                    // RFC 7692 §6: RSV1 marks the first frame of a compressed message only.
                    item = .message(data: data, opcode: .continuation, reservedBits: 0, fragmentSize: fragmentSize)
                }
                return .bytes(encode(fin, reservedBits, opcode, payload))
            case .frame(let fin, let opcode, let payload):
                finished = true
                return .bytes(encode(fin, 0, opcode, payload))
            case .frames(var bytes):
                let frame = Self.readFirstFrame(&bytes)
                if bytes.readableBytes == 0 {
                    finished = true
                } else {
                    item = .frames(bytes)
                }
                return .bytes(frame)
            case .transport(let action):
                finished = true
                return action
            }
        }
        if finished {
            _ = items.popFirst()
            emittedCount += 1
        }
        return output
    }

    /// Drops everything waiting: the connection failed or the transport ended.
    mutating func discardAll() {
        while items.popFirst() != nil {
            discardedCount += 1
        }
    }

    /// Takes the first whole frame from bytes this endpoint encoded itself; all of them if
    /// they do not parse (which would be a bug, never peer input).
    private static func readFirstFrame(_ bytes: inout ByteBuffer) -> ByteBuffer {
        let length: Int? = bytes.withUnsafeReadableBytes { raw in
            guard case .header(let header, let headerLength) = WebSocketFrameHeader.decode(raw) else { return nil }
            return headerLength + header.payloadLength
        }
        guard let length, length < bytes.readableBytes else {
            return bytes.readSlice(length: bytes.readableBytes)!
        }
        return bytes.readSlice(length: length)!
    }
}
