import CanalSSECore
import NIOCore
import Testing

private func text(_ event: ServerSentEvent) throws -> String {
    String(buffer: try ServerSentEventEncoder.encode(event))
}

@Suite("ServerSentEventEncoder")
struct ServerSentEventEncoderTests {
    @Test func serverWritesFieldsInOrderAndEndsWithABlankLine() throws {
        let event = ServerSentEvent(event: "reading", id: "42", data: "21.5", retry: 2000)
        #expect(try text(event) == "event: reading\nid: 42\nretry: 2000\ndata: 21.5\n\n")
    }

    @Test func serverSplitsDataOnEveryKindOfLineBreak() throws {
        #expect(try text(ServerSentEvent(data: "a\nb\r\nc\rd")) == "data: a\ndata: b\ndata: c\ndata: d\n\n")
        #expect(try text(ServerSentEvent(data: "end\n")) == "data: end\ndata:\n\n")
        #expect(try text(ServerSentEvent(data: "")) == "data:\n\n")
    }

    @Test func serverKeepsLeadingSpacesOfValues() throws {
        #expect(try text(ServerSentEvent(id: " 1", data: "  two")) == "id:  1\ndata:   two\n\n")
    }

    @Test func serverRefusesLineBreaksInEventAndID() throws {
        #expect(throws: ServerSentEventError.lineBreak(in: "event")) {
            try ServerSentEventEncoder.encode(ServerSentEvent(event: "a\nb", data: "x"))
        }
        #expect(throws: ServerSentEventError.lineBreak(in: "id")) {
            try ServerSentEventEncoder.encode(ServerSentEvent(id: "1\r", data: "x"))
        }
        #expect(throws: ServerSentEventError.nullInID) {
            try ServerSentEventEncoder.encode(ServerSentEvent(id: "1\u{0}", data: "x"))
        }
        #expect(throws: ServerSentEventError.negativeRetry) {
            try ServerSentEventEncoder.encode(ServerSentEvent(data: "x", retry: -1))
        }
    }

    @Test func serverCommentsAndRetryLinesDispatchNothing() throws {
        var buffer = ByteBuffer()
        ServerSentEventEncoder.comment(into: &buffer)
        ServerSentEventEncoder.comment("two\nlines", into: &buffer)
        ServerSentEventEncoder.retry(milliseconds: 500, into: &buffer)
        #expect(String(buffer: buffer) == ":\n: two\n: lines\nretry: 500\n\n")
        var parser = ServerSentEventParser()
        #expect(try parser.parse(buffer) == [])
        #expect(parser.reconnectionTime == 500)
    }

    @Test(arguments: [
        ServerSentEvent(data: "plain"),
        ServerSentEvent(event: "update", id: "9", data: "multi\nline\r\nwith\rbreaks\n"),
        ServerSentEvent(id: "", data: ""),
        ServerSentEvent(event: "e", data: " leading space and trailing ", retry: 10),
        ServerSentEvent(data: "caf\u{E9} \u{1F30A} :colon: data: x"),
    ])
    func serverOutputParsesBackToTheSameEvent(event: ServerSentEvent) throws {
        var parser = ServerSentEventParser()
        let parsed = try parser.parse(try ServerSentEventEncoder.encode(event))
        let expectedData = event.data.replacingLineBreaksWithLF()
        #expect(parsed == [.init(type: event.event ?? "message", data: expectedData, lastEventID: event.id ?? "")])
        #expect(parser.reconnectionTime == event.retry)
    }
}

extension String {
    /// CRLF and CR as LF, as a reader sees them after parsing.
    fileprivate func replacingLineBreaksWithLF() -> String {
        var output = ""
        var previousCR = false
        for scalar in unicodeScalars {
            if scalar == "\r" {
                output += "\n"
                previousCR = true
            } else {
                if !(scalar == "\n" && previousCR) { output.unicodeScalars.append(scalar) }
                previousCR = false
            }
        }
        return output
    }
}
