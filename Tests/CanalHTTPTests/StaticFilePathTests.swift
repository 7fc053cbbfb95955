import Testing

@testable import CanalHTTP

/// Requests for paths outside the folder are refused before any file is touched.
@Suite struct StaticFilePathTests {
    @Test func plainPathGivesItsSegments() {
        #expect(StaticFilePath.parse("/css/site.css") == .segments(["css", "site.css"], isDirectoryRequest: false))
        #expect(StaticFilePath.parse("/") == .segments([], isDirectoryRequest: true))
        #expect(StaticFilePath.parse("/docs/") == .segments(["docs"], isDirectoryRequest: true))
    }

    @Test func emptySegmentsCollapse() {
        #expect(StaticFilePath.parse("//css///site.css") == .segments(["css", "site.css"], isDirectoryRequest: false))
    }

    @Test func percentEncodingIsDecodedOnce() {
        #expect(StaticFilePath.parse("/a%20b.txt") == .segments(["a b.txt"], isDirectoryRequest: false))
        #expect(StaticFilePath.parse("/%C3%B1.html") == .segments(["ñ.html"], isDirectoryRequest: false))
        // Double encoding stays a literal name: it can never turn into `..` later.
        #expect(StaticFilePath.parse("/%252e%252e%252f") == .segments(["%2e%2e%2f"], isDirectoryRequest: false))
    }

    @Test(arguments: [
        "/../secret", "/a/../../secret", "/..", "/.", "/./a", "/a/.", "/%2e%2e/secret", "/%2E%2E%2Fsecret",
        "/.%2e/secret", "/a%2f..%2f..%2fsecret", "/..%2f", "/..\\secret", "/a%5c..%5csecret", "/a%00.html",
        "/%00", "/a%0a", "/a%7f", "/%", "/%2", "/%zz", "/%g0", "relative/path", "", "/a%c3",
    ])
    func hostilePathIsInvalid(path: String) {
        #expect(StaticFilePath.parse(path) == .invalid)
    }

    @Test(arguments: ["/.env", "/.git/config", "/a/.hidden/b", "/%2eenv"])
    func dotfileIsHidden(path: String) {
        #expect(StaticFilePath.parse(path) == .hidden)
    }

    @Test func dotfilesCanBeServedOnRequest() {
        #expect(
            StaticFilePath.parse("/.well-known/x", allowsDotfiles: true)
                == .segments([".well-known", "x"], isDirectoryRequest: false))
        #expect(StaticFilePath.parse("/../x", allowsDotfiles: true) == .invalid)
    }

    @Test func overlongUTF8DotsAreNotDots() {
        // %c0%ae is not valid UTF-8 (an overlong "."): refused, never read as "..".
        #expect(StaticFilePath.parse("/%c0%ae%c0%ae/secret") == .invalid)
        // A fullwidth full stop is a different character, not a dot.
        #expect(
            StaticFilePath.parse("/%ef%bc%8e%ef%bc%8e/secret")
                == .segments(["．．", "secret"], isDirectoryRequest: false))
    }

    @Test func requestTargetSplitsPathAndQuery() {
        let target = RequestTarget("/a/b?x=1&y=2#frag")
        #expect(target.path == "/a/b")
        #expect(target.query == "x=1&y=2")
        let absolute = RequestTarget("http://example.com:8080/p?q")
        #expect(absolute.path == "/p")
        #expect(absolute.query == "q")
        #expect(RequestTarget("http://example.com").path == "/")
    }
}
