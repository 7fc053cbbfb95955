import NIOHTTP1

/// What a static file's validators say about one request: conditional requests
/// (RFC 9110 §13) and byte ranges (RFC 9110 §14), decided without touching the file.
enum StaticFileAnswer: Equatable {
    /// 200 with the whole file.
    case full
    /// 206 with `length` bytes from `offset`.
    case partial(offset: Int64, length: Int64)
    /// 304: the client's copy is current.
    case notModified
    /// 412: an `If-Match` or `If-Unmodified-Since` precondition failed.
    case preconditionFailed
    /// 416: no byte of the requested range exists.
    case rangeNotSatisfiable

    /// - Parameters:
    ///   - etag: the file's (strong) entity tag, quotes included.
    ///   - lastModified: the file's modification time in whole seconds since the epoch.
    static func decide(
        method: HTTPMethod,
        headers: HTTPHeaders,
        size: Int64,
        etag: String,
        lastModified: Int
    ) -> StaticFileAnswer {
        // RFC 9110 §13.2.2 fixes the order in which preconditions are evaluated.
        if let ifMatch = headers.first(name: "If-Match") {
            if !EntityTags.matches(ifMatch, etag: etag, weakComparison: false) { return .preconditionFailed }
        } else if let since = headers.first(name: "If-Unmodified-Since").flatMap(HTTPDate.parse) {
            if lastModified > since { return .preconditionFailed }
        }
        if let ifNoneMatch = headers.first(name: "If-None-Match") {
            if EntityTags.matches(ifNoneMatch, etag: etag, weakComparison: true) {
                return method == .GET || method == .HEAD ? .notModified : .preconditionFailed
            }
        } else if method == .GET || method == .HEAD,
            let since = headers.first(name: "If-Modified-Since").flatMap(HTTPDate.parse),
            lastModified <= since
        {
            return .notModified
        }
        // RFC 9110 §14.2: Range applies to GET only; HEAD answers as a full GET would.
        guard method == .GET, let range = headers.first(name: "Range") else { return .full }
        if let ifRange = headers.first(name: "If-Range"), !ifRangeHolds(ifRange, etag: etag, lastModified: lastModified)
        {
            return .full
        }
        switch ByteRange.parse(range) {
        case .none:
            return .full  // RFC 9110 §14.2: an unparsable or multi-part Range may be ignored
        case .some(let spec):
            guard let (offset, length) = spec.resolve(size: size) else { return .rangeNotSatisfiable }
            return .partial(offset: offset, length: length)
        }
    }

    /// RFC 9110 §13.1.5: `If-Range` holds for an identical strong entity tag, or for the
    /// exact `Last-Modified` date.
    private static func ifRangeHolds(_ value: String, etag: String, lastModified: Int) -> Bool {
        let trimmed = value.trimmingSpaces()
        if trimmed.hasPrefix("\"") { return trimmed == etag }
        if trimmed.hasPrefix("W/") { return false }
        return HTTPDate.parse(trimmed) == lastModified
    }
}

/// Entity tag lists (`"a", W/"b"` or `*`) as in `If-Match` and `If-None-Match`.
enum EntityTags {
    static func matches(_ list: String, etag: String, weakComparison: Bool) -> Bool {
        let trimmed = list.trimmingSpaces()
        if trimmed == "*" { return true }
        let ours = weakComparison ? opaque(etag) : etag
        for candidate in trimmed.split(separator: ",") {
            let tag = candidate.trimmingSpaces()
            if weakComparison {
                if opaque(tag) == ours { return true }
            } else if !tag.hasPrefix("W/"), tag == ours {
                return true
            }
        }
        return false
    }

    private static func opaque(_ tag: String) -> String {
        tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
    }
}

/// One byte range of a `Range: bytes=...` header (RFC 9110 §14.1.2).
enum ByteRange: Equatable {
    /// `first-last` or `first-` (last nil).
    case from(Int64, through: Int64?)
    /// `-count`: the last `count` bytes.
    case suffix(Int64)

    /// Parses a single range. Several ranges, other units and bad syntax give nil, and the
    /// whole file is sent instead, which RFC 9110 §14.2 allows.
    static func parse(_ value: String) -> ByteRange? {
        let trimmed = value.trimmingSpaces()
        guard trimmed.count > 6, trimmed.prefix(6).lowercased() == "bytes=" else { return nil }
        let spec = trimmed.dropFirst(6).trimmingSpaces()
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash]
        let last = spec[spec.index(after: dash)...]
        guard first.allSatisfy(\.isASCIIDigit), last.allSatisfy(\.isASCIIDigit) else { return nil }
        if first.isEmpty {
            guard let count = Int64(last) else { return nil }
            return .suffix(count)
        }
        guard let start = Int64(first) else { return nil }
        if last.isEmpty { return .from(start, through: nil) }
        guard let end = Int64(last), end >= start else { return nil }
        return .from(start, through: end)
    }

    /// The offset and length within a file of `size` bytes, or nil when unsatisfiable.
    func resolve(size: Int64) -> (offset: Int64, length: Int64)? {
        switch self {
        case .from(let start, let end):
            guard start < size else { return nil }
            let last = Swift.min(end ?? (size - 1), size - 1)
            return (start, last - start + 1)
        case .suffix(let count):
            guard count > 0, size > 0 else { return nil }
            let length = Swift.min(count, size)
            return (size - length, length)
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
