/// The four-byte key a client uses to mask each frame it sends (RFC 6455 §5.3).
public struct WebSocketMaskingKey: Hashable, Sendable {
    public var bytes: (UInt8, UInt8, UInt8, UInt8)

    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        self.bytes = (b0, b1, b2, b3)
    }

    /// A key drawn from `generator`. Clients must use an unpredictable source (RFC 6455 §10.3).
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> WebSocketMaskingKey {
        let value = UInt32.random(in: .min ... .max, using: &generator)
        return WebSocketMaskingKey(
            UInt8(truncatingIfNeeded: value),
            UInt8(truncatingIfNeeded: value >> 8),
            UInt8(truncatingIfNeeded: value >> 16),
            UInt8(truncatingIfNeeded: value >> 24)
        )
    }

    /// A key from the system's cryptographically secure generator.
    public static func random() -> WebSocketMaskingKey {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public static func == (lhs: WebSocketMaskingKey, rhs: WebSocketMaskingKey) -> Bool {
        lhs.bytes.0 == rhs.bytes.0 && lhs.bytes.1 == rhs.bytes.1 && lhs.bytes.2 == rhs.bytes.2
            && lhs.bytes.3 == rhs.bytes.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.0)
        hasher.combine(bytes.1)
        hasher.combine(bytes.2)
        hasher.combine(bytes.3)
    }

    @inline(__always)
    subscript(index: Int) -> UInt8 {
        switch index & 3 {
        case 0: return bytes.0
        case 1: return bytes.1
        case 2: return bytes.2
        default: return bytes.3
        }
    }

    /// XORs `buffer` with the key in place, as if the key started at `phase` (0...3).
    ///
    /// Masking is its own inverse, so this both masks and unmasks. Works a word at a time.
    public func apply(to buffer: UnsafeMutableRawBufferPointer, phase: Int = 0) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let count = buffer.count
        var index = 0
        // Bring the key into step with `phase`, then repeat it across eight bytes.
        let k0 = self[phase], k1 = self[phase + 1], k2 = self[phase + 2], k3 = self[phase + 3]
        let key32 = UInt32(k0) | UInt32(k1) << 8 | UInt32(k2) << 16 | UInt32(k3) << 24
        let key64 = UInt64(key32) | UInt64(key32) << 32
        while index + 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            base.storeBytes(of: word ^ key64.littleEndian, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < count {
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            base.storeBytes(of: byte ^ self[phase + index], toByteOffset: index, as: UInt8.self)
            index += 1
        }
    }
}
