/// Turns the path of a request target into the segments of a file below the static
/// folder, refusing anything that could name a file outside it.
///
/// The target is percent-decoded exactly once (RFC 3986 §2.1), so `%252e%252e` stays the
/// literal name `%2e%2e` and cannot become `..` later. After decoding, a path with a NUL,
/// a control character, a backslash, invalid UTF-8, or a `.` or `..` segment is refused
/// outright rather than normalised: browsers remove dot segments before sending
/// (RFC 3986 §5.2.4), so only crafted requests carry them. The filesystem check that
/// follows (`realpath` and a prefix test, in `StaticFileLookup`) catches symbolic links.
enum StaticFilePath: Equatable {
    /// Segments below the folder, none empty, `.`, `..` or containing `/`.
    /// `isDirectoryRequest` is true when the path ended with a slash.
    case segments([String], isDirectoryRequest: Bool)
    /// A malformed or hostile path: answer 400.
    case invalid
    /// A name that exists only to be hidden, such as `.env` or `.git/config`: answer 404.
    case hidden

    /// - Parameters:
    ///   - path: the request target's path, without the query, still percent-encoded.
    ///   - allowsDotfiles: serve names starting with `.` (never `.` or `..` themselves).
    static func parse<Path: StringProtocol>(_ path: Path, allowsDotfiles: Bool = false) -> StaticFilePath {
        guard path.utf8.first == UInt8(ascii: "/") else { return .invalid }
        guard let decoded = PercentDecoding.decode(path.utf8) else { return .invalid }
        for byte in decoded {
            switch byte {
            case 0..<0x20, 0x7F, UInt8(ascii: "\\"):
                // NUL ends C strings early; a backslash separates paths on Windows.
                return .invalid
            default:
                continue
            }
        }
        guard let text = String(validating: decoded, as: UTF8.self) else { return .invalid }
        var segments: [String] = []
        var hidden = false
        for segment in text.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." || segment == ".." { return .invalid }
            if segment.hasPrefix(".") && !allowsDotfiles { hidden = true }
            segments.append(String(segment))
        }
        if hidden { return .hidden }
        return .segments(segments, isDirectoryRequest: text.hasSuffix("/"))
    }
}

/// Percent-decoding (RFC 3986 §2.1).
enum PercentDecoding {
    /// Decodes `%XX` escapes once. Returns nil for a `%` not followed by two hex digits.
    static func decode<Bytes: Collection>(_ bytes: Bytes) -> [UInt8]? where Bytes.Element == UInt8 {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            index = bytes.index(after: index)
            guard byte == UInt8(ascii: "%") else {
                output.append(byte)
                continue
            }
            guard index != bytes.endIndex, let high = hexValue(bytes[index]) else { return nil }
            index = bytes.index(after: index)
            guard index != bytes.endIndex, let low = hexValue(bytes[index]) else { return nil }
            index = bytes.index(after: index)
            output.append(high << 4 | low)
        }
        return output
    }

    /// Decodes into a string, or nil for a bad escape or invalid UTF-8.
    static func decodeString<Text: StringProtocol>(_ text: Text) -> String? {
        guard let bytes = decode(text.utf8) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
