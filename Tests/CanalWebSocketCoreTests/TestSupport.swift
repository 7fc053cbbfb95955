import NIOCore
import Testing

@testable import CanalWebSocketCore

// Helpers shared by the core's tests: hex fixtures, a frame encoder written independently of
// the code under test, and a runner that feeds the same bytes to an endpoint in several ways
// and checks that every way tells the same story.

// MARK: - Hex

/// The bytes spelled by `text` in hex. Spaces, newlines, `:` and `_` are ignored.
func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var high: UInt8?
    for scalar in text.unicodeScalars {
        let nibble: UInt8
        switch scalar {
        case "0"..."9": nibble = UInt8(scalar.value - 0x30)
        case "a"..."f": nibble = UInt8(scalar.value - 0x61 + 10)
        case "A"..."F": nibble = UInt8(scalar.value - 0x41 + 10)
        case " ", "\n", "\t", ":", "_": continue
        default: preconditionFailure("not a hex digit: \(scalar)")
        }
        if let pending = high {
            bytes.append(pending << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    precondition(high == nil, "odd number of hex digits in \(text)")
    return bytes
}

/// `bytes` as space-separated hex pairs, for failure messages.
func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
}

extension ByteBuffer {
    init(hex text: String) {
        self.init(bytes: CanalWebSocketCoreTests.hex(text))
    }

    /// The readable bytes, without consuming them.
    var bytes: [UInt8] { Array(readableBytesView) }
}

/// The UTF-8 bytes of `text`.
func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

// MARK: - Frames

/// The key every test endpoint masks with, and the key of the client frames fed to servers:
/// the one from the examples of RFC 6455 §5.7.
let testMaskingKey = WebSocketMaskingKey(0x37, 0xFA, 0x21, 0x3D)
let testMaskingKeyBytes: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

/// Encodes one frame by hand (RFC 6455 §5.2), without using `WebSocketFrameHeader`, so that the
/// decoder is never checked against itself. `rsv` holds RSV1-RSV3 in wire position (0x40, 0x20, 0x10).
func frame(
    _ opcode: WebSocketOpcode,
    _ payload: [UInt8],
    fin: Bool = true,
    rsv: UInt8 = 0,
    mask: [UInt8]? = nil
) -> [UInt8] {
    var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv | opcode.rawValue]
    let maskBit: UInt8 = mask == nil ? 0 : 0x80
    let count = payload.count
    if count <= 125 {
        bytes.append(maskBit | UInt8(count))
    } else if count <= 0xFFFF {
        bytes += [maskBit | 126, UInt8(count >> 8), UInt8(count & 0xFF)]
    } else {
        bytes.append(maskBit | 127)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: count >> shift))
        }
    }
    if let mask {
        precondition(mask.count == 4)
        bytes += mask
        bytes += naiveMask(payload, key: mask)
    } else {
        bytes += payload
    }
    return bytes
}

/// A frame as a client sends it: masked (RFC 6455 §5.3).
func clientFrame(
    _ opcode: WebSocketOpcode,
    _ payload: [UInt8],
    fin: Bool = true,
    rsv: UInt8 = 0,
    key: [UInt8] = testMaskingKeyBytes
) -> [UInt8] {
    frame(opcode, payload, fin: fin, rsv: rsv, mask: key)
}

func clientFrame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
    clientFrame(opcode, utf8(text), fin: fin, rsv: rsv)
}

/// A frame as a server sends it: unmasked.
func serverFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
    frame(opcode, payload, fin: fin, rsv: rsv)
}

func serverFrame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
    serverFrame(opcode, utf8(text), fin: fin, rsv: rsv)
}

/// A frame as an endpoint under test with `role` sends it (clients mask with `testMaskingKey`).
func frame(sentBy role: WebSocketRole, _ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
    switch role {
    case .client: return clientFrame(opcode, payload, fin: fin)
    case .server: return serverFrame(opcode, payload, fin: fin)
    }
}

/// A frame as the peer of an endpoint with `role` sends it.
func frame(toward role: WebSocketRole, _ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
    frame(sentBy: role == .server ? .client : .server, opcode, payload, fin: fin)
}

/// The first bytes of a masked text frame declaring `length` payload bytes: the header and `prefix`,
/// as a server sees them before the rest of the frame arrives.
func partialClientText(declaring length: Int, prefix: [UInt8]) -> [UInt8] {
    let payload = prefix + [UInt8](repeating: 0x61, count: length - prefix.count)
    let whole = clientFrame(.text, payload)
    let headerLength = whole.count - length
    return Array(whole.prefix(headerLength + prefix.count))
}

/// The body of a close frame: the code in network order, then the reason (RFC 6455 §5.5.1).
func closeBody(_ code: UInt16, _ reason: String = "") -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + utf8(reason)
}

/// Byte-at-a-time XOR with a four-byte key, the reference for the word-at-a-time code.
func naiveMask(_ bytes: [UInt8], key: [UInt8], phase: Int = 0) -> [UInt8] {
    bytes.enumerated().map { index, byte in byte ^ key[(index + phase) % 4] }
}

/// A small deterministic generator (SplitMix64) so failures can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Endpoints

/// An endpoint whose client frames are masked with `testMaskingKey`, so its output is deterministic.
func makeConnection(
    _ role: WebSocketRole,
    configuration: WebSocketConfiguration = WebSocketConfiguration(),
    extensions: [any WebSocketExtension] = []
) -> WebSocketConnection {
    WebSocketConnection(
        role: role,
        configuration: configuration,
        extensions: extensions,
        maskingKeys: { testMaskingKey }
    )
}

/// One thing an endpoint asked its driver to do, with adjacent writes merged so that the way
/// the core batches its buffers does not matter to a comparison.
enum Sent: Hashable, CustomStringConvertible {
    case bytes([UInt8])
    case shutdownOutput
    case closeTransport

    var description: String {
        switch self {
        case .bytes(let bytes): return "bytes(\(hexString(bytes.prefix(64)))\(bytes.count > 64 ? " …" : ""))"
        case .shutdownOutput: return "shutdownOutput"
        case .closeTransport: return "closeTransport"
        }
    }
}

extension Array where Element == Sent {
    mutating func appendMerging(_ sent: Sent) {
        if case .bytes(let new) = sent, case .bytes(let old)? = last {
            self[count - 1] = .bytes(old + new)
        } else if case .bytes(let new) = sent, new.isEmpty {
            return
        } else {
            append(sent)
        }
    }

    /// `list` with adjacent writes merged.
    static func merged(_ list: [Sent]) -> [Sent] {
        var result: [Sent] = []
        for sent in list { result.appendMerging(sent) }
        return result
    }
}

extension WebSocketConnection {
    mutating func drainEvents() -> [WebSocketEvent] {
        var events: [WebSocketEvent] = []
        while let event = nextEvent() { events.append(event) }
        return events
    }

    /// Every queued output, as the driver gets them (unmerged).
    mutating func drainOutputs() -> [WebSocketOutput] {
        var outputs: [WebSocketOutput] = []
        while let output = nextOutput() { outputs.append(output) }
        return outputs
    }

    /// Every queued output, adjacent writes merged.
    mutating func drainSent() -> [Sent] {
        var sent: [Sent] = []
        while let output = nextOutput() {
            switch output {
            case .bytes(let buffer): sent.appendMerging(.bytes(buffer.bytes))
            case .shutdownOutput: sent.appendMerging(.shutdownOutput)
            case .closeTransport: sent.appendMerging(.closeTransport)
            }
        }
        return sent
    }

    mutating func receive(_ bytes: [UInt8]) {
        receive(ByteBuffer(bytes: bytes))
    }
}

// MARK: - Feeding

/// How bytes are cut before they reach `receive(_:)`.
enum Feeding: Hashable, CustomStringConvertible {
    case oneBatch
    case byteByByte
    /// Two reads, the first of `at` bytes.
    case split(at: Int)

    func chunks(_ input: [UInt8]) -> [ArraySlice<UInt8>] {
        switch self {
        case .oneBatch: return [input[...]]
        case .byteByByte: return input.indices.map { input[$0...$0] }
        case .split(let at): return [input[..<at], input[at...]]
        }
    }

    var description: String {
        switch self {
        case .oneBatch: return "in one batch"
        case .byteByByte: return "byte by byte"
        case .split(let at): return "split after \(at) bytes"
        }
    }

    /// Every way worth trying for `input`: one batch, byte by byte, and for short input a split at every offset.
    static func all(for input: [UInt8]) -> [Feeding] {
        var feedings: [Feeding] = [.oneBatch, .byteByByte]
        if input.count <= 300, input.count > 1 {
            feedings += (1..<input.count).map { .split(at: $0) }
        }
        return feedings
    }
}

/// Everything an endpoint reported while it was fed.
struct Transcript: Equatable, CustomStringConvertible {
    var events: [WebSocketEvent] = []
    var sent: [Sent] = []
    /// The state after the input and before any EOF.
    var stateAfterInput: WebSocketConnection.State = .open
    /// The state at the end.
    var state: WebSocketConnection.State = .open

    var description: String {
        "events: \(events)\nsent: \(sent)\nstate after input: \(stateAfterInput), final state: \(state)"
    }
}

/// Feeds `input` to fresh endpoints in one batch, byte by byte and (when short) split in two at
/// every offset, draining events and outputs after every read as a driver would. Expects every
/// way to produce the same transcript and returns it.
///
/// - Parameters:
///   - setUp: runs on the fresh endpoint before any input (to close it first, say); what it
///     produces is part of the transcript.
///   - thenEOF: calls `receiveEOF()` after the input.
@discardableResult
func feed(
    _ input: [UInt8],
    to role: WebSocketRole,
    configuration: WebSocketConfiguration = WebSocketConfiguration(),
    thenEOF: Bool = false,
    setUp: (inout WebSocketConnection) -> Void = { _ in },
    extensions: () -> [any WebSocketExtension] = { [] },
    sourceLocation: SourceLocation = #_sourceLocation
) -> Transcript {
    var reference: Transcript?
    for feeding in Feeding.all(for: input) {
        var connection = makeConnection(role, configuration: configuration, extensions: extensions())
        var transcript = Transcript()
        setUp(&connection)
        for chunk in feeding.chunks(input) {
            connection.receive(ByteBuffer(bytes: chunk))
            transcript.events += connection.drainEvents()
            for sent in connection.drainSent() { transcript.sent.appendMerging(sent) }
        }
        transcript.stateAfterInput = connection.state
        if thenEOF {
            connection.receiveEOF()
            transcript.events += connection.drainEvents()
            for sent in connection.drainSent() { transcript.sent.appendMerging(sent) }
        }
        transcript.state = connection.state
        if let reference {
            if transcript != reference {
                Issue.record(
                    "fed \(feeding), the \(role) saw\n\(transcript)\nbut in one batch\n\(reference)",
                    sourceLocation: sourceLocation
                )
                return reference
            }
        } else {
            reference = transcript
        }
    }
    return reference!
}

/// Expects `input` to make an endpoint with `role` fail the connection with `code` because of
/// `kind`: a close frame carrying the code and a non-empty generic reason is queued after
/// `sentBefore`, then, on a server, `shutdownOutput` (a client waits for the server to close
/// the transport, RFC 6455 §7.1.1); the state is `.failed`; and the EOF that follows reports
/// the error with 1006, not clean.
func expectFailure(
    _ input: [UInt8],
    to role: WebSocketRole,
    code: UInt16,
    _ kind: WebSocketProtocolError.Kind,
    configuration: WebSocketConfiguration = WebSocketConfiguration(),
    extensions: () -> [any WebSocketExtension] = { [] },
    eventsBefore: [WebSocketEvent] = [],
    sentBefore: [UInt8] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let error = WebSocketProtocolError(kind)
    #expect(!error.reason.isEmpty, sourceLocation: sourceLocation)
    #expect(error.reason.utf8.count <= 123, sourceLocation: sourceLocation)
    let transcript = feed(
        input,
        to: role,
        configuration: configuration,
        thenEOF: true,
        extensions: extensions,
        sourceLocation: sourceLocation
    )
    let closed = WebSocketCloseStatus(code: .abnormalClosure, reason: "", wasClean: false, error: error)
    #expect(transcript.events == eventsBefore + [.closed(closed)], sourceLocation: sourceLocation)
    let closeFrame = frame(sentBy: role, .close, closeBody(code, error.reason))
    #expect(
        transcript.sent == [.bytes(sentBefore + closeFrame)] + (role == .server ? [.shutdownOutput] : []),
        "expected close \(code) \"\(error.reason)\"",
        sourceLocation: sourceLocation
    )
    #expect(transcript.stateAfterInput == .failed, sourceLocation: sourceLocation)
    #expect(transcript.state == .closed, sourceLocation: sourceLocation)
}

/// Runs `body`, recording an issue instead of propagating an error, for calls that must succeed.
func must(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try body()
    } catch {
        Issue.record("unexpected error: \(error)", sourceLocation: sourceLocation)
    }
}

/// Reads the code of a close frame as this suite's endpoints send it, unmasking if needed.
func closeCode(inFrame bytes: [UInt8]) -> UInt16? {
    guard bytes.count >= 2, bytes[0] & 0x0F == 0x8 else { return nil }
    let masked = bytes[1] & 0x80 != 0
    let length = Int(bytes[1] & 0x7F)
    guard length >= 2, length <= 125 else { return nil }
    let start = masked ? 6 : 2
    guard bytes.count == start + length else { return nil }
    var body = Array(bytes[start...])
    if masked { body = naiveMask(body, key: Array(bytes[2..<6])) }
    return UInt16(body[0]) << 8 | UInt16(body[1])
}
