import CanalSSECore
import Testing

/// Parses `text` in one batch and byte by byte; both must give the same events.
private func events(_ text: String, limits: ServerSentEventParser.Limits = .init()) throws -> [ServerSentEventParser.Event] {
    try events(Array(text.utf8), limits: limits)
}

private func events(_ bytes: [UInt8], limits: ServerSentEventParser.Limits = .init()) throws -> [ServerSentEventParser.Event] {
    var batch = ServerSentEventParser(limits: limits)
    let whole = try batch.parse(bytes)
    var single = ServerSentEventParser(limits: limits)
    var pieces: [ServerSentEventParser.Event] = []
    for byte in bytes { pieces += try single.parse([byte]) }
    #expect(whole == pieces, "batch and byte-by-byte parsing differ")
    #expect(batch.lastEventID == single.lastEventID)
    #expect(batch.reconnectionTime == single.reconnectionTime)
    return whole
}

private func message(_ data: String, type: String = "message", id: String = "") -> ServerSentEventParser.Event {
    .init(type: type, data: data, lastEventID: id)
}

@Suite("ServerSentEventParser (WHATWG HTML §9.2.6)")
struct ServerSentEventParserTests {
    @Test func clientReadsLFCRAndCRLFLineEndsAlike() throws {
        #expect(try events("data: a\n\n") == [message("a")])
        #expect(try events("data: a\r\r") == [message("a")])
        #expect(try events("data: a\r\n\r\n") == [message("a")])
        #expect(try events("data: a\r\ndata: b\rdata: c\n\r\n") == [message("a\nb\nc")])
    }

    @Test func clientSplitBetweenCRAndLFSeesOneLineEnd() throws {
        var parser = ServerSentEventParser()
        #expect(try parser.parse(Array("data: x\r".utf8)) == [])
        // The LF completes the CRLF; it is not a blank line.
        #expect(try parser.parse(Array("\ndata: y\r".utf8)) == [])
        #expect(try parser.parse(Array("\n\r\n".utf8)) == [message("x\ny")])
    }

    @Test func clientDropsOneLeadingSpaceAfterTheColonOnly() throws {
        #expect(try events("data:a\n\n") == [message("a")])
        #expect(try events("data: a\n\n") == [message("a")])
        #expect(try events("data:  a\n\n") == [message(" a")])
        #expect(try events("data:\tb\n\n") == [message("\tb")])
    }

    @Test func clientJoinsDataLinesWithLFAndDropsTheLastOne() throws {
        #expect(try events("data: one\ndata: two\ndata\n\n") == [message("one\ntwo\n")])
        #expect(try events("data\n\n") == [message("")])
        #expect(try events("data:\ndata:\n\n") == [message("\n")])
    }

    @Test func clientDispatchesNothingWithoutData() throws {
        #expect(try events("event: x\n\n") == [])
        #expect(try events("id: 3\n\n") == [])
        #expect(try events("\n\n\n") == [])
    }

    @Test func clientNamesTheTypeFromEventAndResetsItAfterEachEvent() throws {
        #expect(try events("event: add\ndata: 1\n\ndata: 2\n\n") == [message("1", type: "add"), message("2")])
        #expect(try events("event\ndata: 1\n\n") == [message("1")])
    }

    @Test func clientAcceptsRetryOfDigitsOnly() throws {
        var parser = ServerSentEventParser()
        _ = try parser.parse(Array("retry: 1500\n\n".utf8))
        #expect(parser.reconnectionTime == 1500)
        for ignored in ["retry: 15x\n", "retry: -5\n", "retry: +5\n", "retry: 1.5\n", "retry:\n", "retry:  7\n", "retry: 7 \n"] {
            _ = try parser.parse(Array(ignored.utf8))
            #expect(parser.reconnectionTime == 1500, "\(ignored) must be ignored")
        }
        _ = try parser.parse(Array("retry: 0\n".utf8))
        #expect(parser.reconnectionTime == 0)
        _ = try parser.parse(Array("retry: 99999999999999999999999999\n".utf8))
        #expect(parser.reconnectionTime == Int.max)
    }

    @Test func clientIgnoresAnIDContainingNull() throws {
        let bytes = Array("id: 1\ndata: a\n\nid: 2\u{0}x\ndata: b\n\n".utf8)
        #expect(try events(bytes) == [message("a", id: "1"), message("b", id: "1")])
    }

    @Test func clientKeepsTheLastIDAcrossEventsAndEmptyIDResetsIt() throws {
        #expect(
            try events("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")
                == [message("a", id: "7"), message("b", id: "7"), message("c")])
    }

    @Test func clientSetsLastEventIDAtDispatchNotAtTheField() throws {
        var parser = ServerSentEventParser()
        _ = try parser.parse(Array("id: 1\ndata: a\n\nid: 2\ndata: b\n".utf8))
        #expect(parser.lastEventID == "1")
        // The connection drops before the blank line: event 2 never happened.
        parser.finish()
        #expect(parser.lastEventID == "1")
        #expect(try parser.parse(Array("\n".utf8)) == [])
    }

    @Test func clientDiscardsAnIncompleteEventAtTheEndOfTheStream() throws {
        var parser = ServerSentEventParser()
        #expect(try parser.parse(Array("data: half".utf8)) == [])
        parser.finish()
        #expect(try parser.parse(Array("data: next\n\n".utf8)) == [message("next")])
    }

    @Test func clientIgnoresCommentsAndUnknownFields() throws {
        #expect(try events(":hello\n: more\nfoo: bar\nDATA: x\ndata: y\n\n") == [message("y")])
    }

    @Test func clientSkipsOneByteOrderMarkAtTheStartOnly() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("data: a\n\n".utf8) + [0xEF, 0xBB, 0xBF] + Array("data: b\n\n".utf8)
        // A second mark is not at the start: it makes a field named "\u{FEFF}data".
        #expect(try events(bytes) == [message("a")])
        #expect(try events([0xEF, 0xBB] + Array("\ndata: c\n\n".utf8)) == [message("c")])
    }

    @Test func clientDecodesUTF8SplitAcrossChunksAndReplacesInvalidBytes() throws {
        #expect(try events("data: caf\u{E9} \u{1F30A}\n\n") == [message("caf\u{E9} \u{1F30A}")])
        #expect(try events([UInt8]("data: ".utf8) + [0xFF, 0x41] + [0x0A, 0x0A]) == [message("\u{FFFD}A")])
    }

    @Test func clientFailsAnEventLargerThanTheLimit() throws {
        var parser = ServerSentEventParser(limits: .init(maxEventSize: 32))
        #expect(throws: ServerSentEventParser.Failure.eventTooLarge(limit: 32)) {
            _ = try parser.parse(Array(("data: " + String(repeating: "x", count: 40) + "\n\n").utf8))
        }
        var many = ServerSentEventParser(limits: .init(maxEventSize: 32))
        #expect(throws: ServerSentEventParser.Failure.eventTooLarge(limit: 32)) {
            for _ in 0..<10 { _ = try many.parse(Array("data: 12345\n".utf8)) }
        }
    }

    @Test func clientCountsCommentsAndDispatchedEventsOutsideTheLimit() throws {
        var parser = ServerSentEventParser(limits: .init(maxEventSize: 32))
        for index in 0..<100 {
            _ = try parser.parse(Array(":heartbeat\n".utf8))
            #expect(try parser.parse(Array("data: \(index % 10)\n\n".utf8)) == [message("\(index % 10)")])
        }
    }
}
