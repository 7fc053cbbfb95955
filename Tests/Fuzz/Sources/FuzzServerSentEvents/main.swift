import CanalSSECore
import FuzzSupport
import NIOCore

// A text/event-stream body from a server, read by the EventSource client's parser in the
// input's chunks. Chunking must not change the events, the last event id or the retry
// time; every event dispatched must encode to a stream that parses back to it.

let limits = ServerSentEventParser.Limits(maxEventSize: 4096)

struct Outcome: Equatable {
    var events: [ServerSentEventParser.Event] = []
    var lastEventID = ""
    var reconnectionTime: Int?
    var failed = false
}

func parseAll(_ chunks: [ArraySlice<UInt8>]) -> Outcome {
    var parser = ServerSentEventParser(limits: limits)
    var outcome = Outcome()
    for chunk in chunks {
        do {
            outcome.events += try parser.parse(chunk)
        } catch {
            outcome.failed = true
            break
        }
    }
    outcome.lastEventID = parser.lastEventID
    outcome.reconnectionTime = parser.reconnectionTime
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerSentEvents(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = FuzzInput(start, count)
    let whole = parseAll([input.bytes[...]])
    let chunked = parseAll(input.chunks)
    if whole.failed || chunked.failed {
        // A failed parse keeps none of the events of the call that failed.
        fuzzCheck(whole.failed == chunked.failed, "chunks change whether the stream fails")
    } else {
        fuzzCheck(chunked == whole, "chunks change the result: \(chunked) against \(whole)")
    }
    for event in whole.failed ? [] : whole.events {
        let sent = ServerSentEvent(
            event: event.type == "message" ? nil : event.type,
            id: event.lastEventID.isEmpty ? nil : event.lastEventID,
            data: event.data)
        guard let bytes = try? ServerSentEventEncoder.encode(sent) else {
            fuzzCheck(false, "a parsed event cannot be encoded: \(event)")
            return 0
        }
        var parser = ServerSentEventParser()
        let again = try? parser.parse(bytes)
        fuzzCheck(again == [event], "\(event) does not round-trip: \(String(describing: again))")
    }
    return 0
}

@_cdecl("FuzzServerSentEvents_main")
public func fuzzServerSentEventsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        fuzzServerSentEvents(data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
