import ArgumentParser
import CanalEventSource
import Foundation
import NIOHTTP1
import NIOSSL

/// `canal sse URL`: prints a server-sent event stream as `canal -c` prints a WebSocket,
/// and reconnects with `Last-Event-ID` as a browser's `EventSource` does.
struct ServerSentEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse",
        abstract: "Print a server-sent event stream (text/event-stream), reconnecting as a browser does.",
        discussion: """
            On a terminal each event shows as "< data", after its type and id when it has \
            them ("< [tick id=42] data"); state lines (Connected, Reconnecting) are green. \
            When standard output is not a terminal it gets only each event's data, and \
            state lines go to standard error; --json prints one JSON object per event \
            instead ({"type":...,"id":...,"data":...}).

            When the stream ends or drops, canal waits (3 s, or what the server asked with \
            retry:) and reconnects with Last-Event-ID, so a server that keeps a history \
            resumes where the stream was. A server that answers 204 No Content ends it. \
            If the very first connection fails, canal exits with status 1 at once.
            """
    )

    @Argument(help: "The stream's http:// or https:// URL; http:// is assumed without a scheme.")
    var url: String

    @Option(
        name: [.customShort("H"), .customLong("header")],
        help: ArgumentHelp("Add a request header. Repeat for more.", valueName: "name:value"))
    var headers: [String] = []

    @Option(help: ArgumentHelp("Send this Last-Event-ID on the first request, to resume.", valueName: "id"))
    var lastEventID: String?

    @Flag(help: "Exit when the stream ends instead of reconnecting.")
    var noReconnect = false

    @Option(help: ArgumentHelp("Give up after this many failed reconnection attempts in a row.", valueName: "n"))
    var maxReconnects: Int?

    @Option(name: [.customShort("c"), .customLong("count")], help: "Exit after this many events.")
    var count: Int?

    @Flag(help: "Print each event as one line of JSON: type, id (last event ID) and data.")
    var json = false

    @Flag(name: [.customShort("n"), .customLong("no-check")], help: "Do not check the server's TLS certificate (testing only).")
    var noCheck = false

    @Option(help: ArgumentHelp("Trust the CA certificates in this PEM file instead of the system's.", valueName: "file"))
    var ca: String?

    @Flag(name: .customLong("no-color"), help: "Run without colour (also when NO_COLOR is set).")
    var noColor = false

    @Flag(help: "Start each printed line with the time it was printed.")
    var timestamps = false

    @Flag(name: [.customShort("q"), .long], help: "Do not print state lines on standard error when output is not a terminal.")
    var quiet = false

    mutating func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let maxReconnects, maxReconnects < 0 { throw ValidationError("--max-reconnects must be 0 or more") }
        if noReconnect, maxReconnects != nil { throw ValidationError("--max-reconnects does not go with --no-reconnect") }
        if let lastEventID, lastEventID.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
            throw ValidationError("--last-event-id may not contain a line break or NUL")
        }
    }

    func run() async throws {
        let target = url.contains("://") ? url : "http://" + url
        var configuration = EventSourceConfiguration()
        for header in headers {
            switch RequestHeader.parse(header) {
            case .success(let (name, value)): configuration.headers.add(name: name, value: value)
            case .failure(let error): throw ValidationError(error.description)
            }
        }
        configuration.lastEventID = lastEventID
        configuration.reconnects = !noReconnect
        configuration.maxReconnects = maxReconnects
        if noCheck || ca != nil {
            var tls = TLSConfiguration.makeClientConfiguration()
            if noCheck { tls.certificateVerification = .none }
            if let ca {
                guard FileManager.default.isReadableFile(atPath: ca) else {
                    throw ValidationError("cannot read --ca file \(DisplayText.quoted(ca))")
                }
                tls.trustRoots = .file(ca)
            }
            configuration.tls = tls
        }
        let source: EventSource
        do {
            source = try EventSource(url: target, configuration: configuration)
        } catch {
            throw ValidationError("invalid URL \(DisplayText.quoted(url)): use http:// or https://")
        }
        let decorated = Terminal.stdoutIsTerminal && !json
        let console = Console(
            style: Console.Style(
                decorated: decorated, color: decorated && Terminal.wantsColor(noColorFlag: noColor),
                timestamps: timestamps, quiet: quiet))
        let status = await EventStreamPrinter(source: source, console: console, json: json, count: count).run()
        status.terminate(console: console)
    }
}
