import NIOHTTP1
import Testing

@testable import CanalHTTP

/// RFC 9110 §13 (conditional requests) and §14 (ranges), without a file or a socket.
@Suite struct StaticFileConditionsTests {
    let etag = "\"abc-1-10\""
    let modified = 784_111_777  // Sun, 06 Nov 1994 08:49:37 GMT

    func decide(_ headers: (String, String)..., method: HTTPMethod = .GET, size: Int64 = 100) -> StaticFileAnswer {
        StaticFileAnswer.decide(
            method: method,
            headers: HTTPHeaders(headers),
            size: size,
            etag: etag,
            lastModified: modified
        )
    }

    @Test func unconditionalRequestGetsTheWholeFile() {
        #expect(decide() == .full)
        #expect(decide(method: .HEAD) == .full)
    }

    @Test func matchingIfNoneMatchIsNotModified() {
        #expect(decide(("If-None-Match", etag)) == .notModified)
        #expect(decide(("If-None-Match", "W/\(etag)")) == .notModified)
        #expect(decide(("If-None-Match", "\"x\", \(etag)")) == .notModified)
        #expect(decide(("If-None-Match", "*")) == .notModified)
        #expect(decide(("If-None-Match", etag), method: .HEAD) == .notModified)
        #expect(decide(("If-None-Match", "\"x\"")) == .full)
    }

    @Test func ifModifiedSinceComparesSeconds() {
        #expect(decide(("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")) == .notModified)
        #expect(decide(("If-Modified-Since", "Sun, 06 Nov 1994 09:49:37 GMT")) == .notModified)
        #expect(decide(("If-Modified-Since", "Sun, 06 Nov 1994 07:49:37 GMT")) == .full)
        #expect(decide(("If-Modified-Since", "not a date")) == .full)
    }

    @Test func ifNoneMatchOverridesIfModifiedSince() {
        #expect(decide(("If-None-Match", "\"x\""), ("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")) == .full)
    }

    @Test func failedPreconditionsAre412() {
        #expect(decide(("If-Match", "\"x\"")) == .preconditionFailed)
        #expect(decide(("If-Match", "W/\(etag)")) == .preconditionFailed)  // strong comparison
        #expect(decide(("If-Match", etag)) == .full)
        #expect(decide(("If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:36 GMT")) == .preconditionFailed)
        #expect(decide(("If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")) == .full)
    }

    @Test func rangesOfAHundredByteFile() {
        #expect(decide(("Range", "bytes=0-9")) == .partial(offset: 0, length: 10))
        #expect(decide(("Range", "bytes=90-")) == .partial(offset: 90, length: 10))
        #expect(decide(("Range", "bytes=-5")) == .partial(offset: 95, length: 5))
        #expect(decide(("Range", "bytes=-500")) == .partial(offset: 0, length: 100))
        #expect(decide(("Range", "bytes=50-5000")) == .partial(offset: 50, length: 50))
        #expect(decide(("Range", "bytes=100-")) == .rangeNotSatisfiable)
        #expect(decide(("Range", "bytes=-0")) == .rangeNotSatisfiable)
        #expect(decide(("Range", "bytes=0-"), size: 0) == .rangeNotSatisfiable)
    }

    @Test func rangesThatAreIgnored() {
        for value in ["bytes=0-1,3-4", "items=0-1", "bytes=5-1", "bytes=", "bytes=a-b", "bytes=--1", "bytes 0-1"] {
            #expect(decide(("Range", value)) == .full, "\(value)")
        }
        #expect(decide(("Range", "bytes=0-1"), method: .HEAD) == .full)
    }

    @Test func ifRangeDecidesWhetherTheRangeApplies() {
        #expect(decide(("Range", "bytes=0-1"), ("If-Range", etag)) == .partial(offset: 0, length: 2))
        #expect(
            decide(("Range", "bytes=0-1"), ("If-Range", "Sun, 06 Nov 1994 08:49:37 GMT"))
                == .partial(offset: 0, length: 2))
        #expect(decide(("Range", "bytes=0-1"), ("If-Range", "\"old\"")) == .full)
        #expect(decide(("Range", "bytes=0-1"), ("If-Range", "W/\(etag)")) == .full)
        #expect(decide(("Range", "bytes=0-1"), ("If-Range", "Sun, 06 Nov 1994 08:49:38 GMT")) == .full)
    }
}

@Suite struct HTTPDateTests {
    @Test func formatsIMFFixdate() {
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }

    @Test func parsesWhatItFormats() {
        for seconds in [0, 784_111_777, 1_700_000_000, 2_000_000_000] {
            #expect(HTTPDate.parse(HTTPDate.format(seconds)) == seconds)
        }
    }

    @Test(arguments: [
        "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "",
    ])
    func ignoresOtherForms(text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }
}

@Suite struct MediaTypesTests {
    @Test func commonTypes() {
        #expect(MediaTypes.forFileName("index.html") == "text/html; charset=utf-8")
        #expect(MediaTypes.forFileName("a.CSS") == "text/css; charset=utf-8")
        #expect(MediaTypes.forFileName("app.js") == "text/javascript; charset=utf-8")
        #expect(MediaTypes.forFileName("logo.svg") == "image/svg+xml")
        #expect(MediaTypes.forFileName("photo.png") == "image/png")
        #expect(MediaTypes.forFileName("data.json") == "application/json")
    }

    @Test func unknownOrMissingExtensionIsOctetStream() {
        #expect(MediaTypes.forFileName("README") == "application/octet-stream")
        #expect(MediaTypes.forFileName(".env") == "application/octet-stream")
        #expect(MediaTypes.forFileName("x.unknown") == "application/octet-stream")
    }
}
