import NIOCore

/// Limits on what a `RESPDecoder` accepts; a reply over them is a protocol error and the
/// connection is closed. Redis itself caps bulk strings at 512 MB (`proto-max-bulk-len`).
public struct RESPDecoderLimits: Sendable, Hashable {
    /// Largest bulk string, in bytes. Default 512 MiB, Redis's own default.
    public var maxBulkLength: Int
    /// Most elements in one array. Default 1,048,576.
    public var maxArrayLength: Int
    /// Deepest nesting of arrays. Default 32 (stream replies nest 4 deep).
    public var maxDepth: Int
    /// Longest header or simple line, without CRLF. Default 64 KiB.
    public var maxLineLength: Int

    public init(
        maxBulkLength: Int = 512 * 1024 * 1024, maxArrayLength: Int = 1 << 20, maxDepth: Int = 32,
        maxLineLength: Int = 64 * 1024
    ) {
        self.maxBulkLength = maxBulkLength
        self.maxArrayLength = maxArrayLength
        self.maxDepth = maxDepth
        self.maxLineLength = maxLineLength
    }
}

/// The peer sent bytes that are not RESP2, or over a limit.
public struct RESPProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "RESP protocol error: \(message)" }
}

/// An incremental RESP2 decoder without I/O: feed it bytes as they come, in chunks of any
/// size, and take out the complete values. Arrays are built on a stack, so a large reply
/// arriving a byte at a time is read once, never re-parsed.
///
/// ```swift
/// var decoder = RESPDecoder()
/// decoder.feed(bytes)
/// while let value = try decoder.next() { handle(value) }
/// ```
///
/// After it throws, the decoder stays failed: the connection must be closed.
public struct RESPDecoder: Sendable {
    public let limits: RESPDecoderLimits
    private var buffer = ByteBuffer()
    /// Arrays being filled: how many elements are still to come, and those read so far.
    private var stack: [(remaining: Int, elements: [RESPValue])] = []
    /// The length of a bulk string whose header was read and whose body is awaited.
    private var pendingBulk: Int?
    private var failure: RESPProtocolError?

    public init(limits: RESPDecoderLimits = RESPDecoderLimits()) {
        self.limits = limits
    }

    /// Bytes received and not yet turned into values.
    public var bufferedBytes: Int { buffer.readableBytes }

    public mutating func feed(_ bytes: ByteBuffer) {
        if buffer.readableBytes == 0 {
            buffer.clear()
        } else if buffer.readerIndex > 4096, buffer.readerIndex > buffer.readableBytes {
            buffer.discardReadBytes()
        }
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// The next complete top-level value, or nil when more bytes are needed.
    public mutating func next() throws(RESPProtocolError) -> RESPValue? {
        if let failure { throw failure }
        do {
            return try decodeNext()
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func decodeNext() throws(RESPProtocolError) -> RESPValue? {
        while true {
            guard let value = try readScalarOrOpenArray() else { return nil }
            // A value completes the innermost open array, maybe several in a row.
            var completed = value
            while true {
                guard !stack.isEmpty else { return completed }
                stack[stack.count - 1].elements.append(completed)
                stack[stack.count - 1].remaining -= 1
                guard stack[stack.count - 1].remaining == 0 else { break }
                completed = .array(stack.removeLast().elements)
            }
        }
    }

    /// Reads one scalar, an empty or null array, or opens an array (then returns nil from
    /// the loop's point of view only when bytes are missing).
    private mutating func readScalarOrOpenArray() throws(RESPProtocolError) -> RESPValue? {
        while true {
            if let length = pendingBulk {
                guard buffer.readableBytes >= length + 2 else { return nil }
                let body = buffer.readSlice(length: length)!
                // RESP: a bulk string's body is followed by CRLF.
                guard buffer.readInteger(as: UInt8.self) == 13, buffer.readInteger(as: UInt8.self) == 10 else {
                    throw RESPProtocolError("bulk string not followed by CRLF")
                }
                pendingBulk = nil
                return .bulkString(body)
            }
            guard let line = try readLine() else { return nil }
            guard let type = line.first else { throw RESPProtocolError("empty line") }
            let rest = line.dropFirst()
            switch type {
            case UInt8(ascii: "+"):
                return .simpleString(String(decoding: rest, as: UTF8.self))
            case UInt8(ascii: "-"):
                return .error(String(decoding: rest, as: UTF8.self))
            case UInt8(ascii: ":"):
                return .integer(try Self.integer(rest))
            case UInt8(ascii: "$"):
                let length = try Self.integer(rest)
                if length == -1 { return .null }
                guard length >= 0 else { throw RESPProtocolError("negative bulk length \(length)") }
                guard length <= limits.maxBulkLength else {
                    throw RESPProtocolError("bulk string of \(length) bytes is over the limit of \(limits.maxBulkLength)")
                }
                pendingBulk = Int(length)
            case UInt8(ascii: "*"):
                let count = try Self.integer(rest)
                if count == -1 { return .null }
                guard count >= 0 else { throw RESPProtocolError("negative array length \(count)") }
                guard count <= limits.maxArrayLength else {
                    throw RESPProtocolError("array of \(count) elements is over the limit of \(limits.maxArrayLength)")
                }
                if count == 0 { return .array([]) }
                guard stack.count < limits.maxDepth else {
                    throw RESPProtocolError("arrays nested deeper than \(limits.maxDepth)")
                }
                var elements: [RESPValue] = []
                elements.reserveCapacity(min(Int(count), 1024))
                stack.append((Int(count), elements))
            default:
                throw RESPProtocolError("unknown type byte 0x\(String(type, radix: 16))")
            }
        }
    }

    /// The bytes up to the next CRLF (consumed with it), or nil when it has not come yet.
    private mutating func readLine() throws(RESPProtocolError) -> [UInt8]? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: 13) else {
            if view.count > limits.maxLineLength + 1 {
                throw RESPProtocolError("line longer than \(limits.maxLineLength) bytes")
            }
            return nil
        }
        let length = cr - view.startIndex
        guard length <= limits.maxLineLength else {
            throw RESPProtocolError("line longer than \(limits.maxLineLength) bytes")
        }
        guard view.count > length + 1 else { return nil }
        guard view[cr + 1] == 10 else { throw RESPProtocolError("CR not followed by LF") }
        let line = buffer.readBytes(length: length)!
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    private static func integer(_ digits: ArraySlice<UInt8>) throws(RESPProtocolError) -> Int64 {
        guard !digits.isEmpty, digits.count <= 20, let value = Int64(String(decoding: digits, as: UTF8.self)) else {
            throw RESPProtocolError("not an integer: \(String(decoding: digits.prefix(24), as: UTF8.self))")
        }
        return value
    }
}
