import CanalEventSource
import CanalSSECore

/// Reads an `EventSource` for `canal sse` and prints what happens; returns the exit status.
struct EventStreamPrinter {
    let source: EventSource
    let console: Console
    let json: Bool
    let count: Int?

    func run() async -> ExitStatus {
        let signals = SignalWatcher { [source] in source.close() }
        defer { signals.cancel() }
        var everOpened = false
        var printed = 0
        var lastDisconnect: (cleanly: Bool, reason: String)?
        do {
            for try await update in source.updates() {
                switch update {
                case .open:
                    everOpened = true
                    console.status("Connected (press CTRL+C to quit)")
                case .event(let event):
                    show(event)
                    printed += 1
                    if let count, printed >= count {
                        source.close()
                        return .success
                    }
                case .disconnected(let wasOpen, let cleanly, let reason):
                    lastDisconnect = (cleanly, reason)
                    if !everOpened && !wasOpen {
                        console.error(Self.explain(reason, url: source.url))
                        return .connectionFailed
                    }
                    console.status(cleanly ? "Disconnected: \(reason)" : "Disconnected: \(Self.explain(reason, url: source.url))")
                case .reconnecting(let delay, let attempt):
                    let resume = source.lastEventID.isEmpty ? "" : ", Last-Event-ID: \(source.lastEventID)"
                    console.status("Reconnecting in \(ClientSession.format(seconds: delay.seconds)) (attempt \(attempt)\(resume))")
                }
            }
        } catch let error as EventSourceError {
            console.error(error.kind == .gaveUp ? error.description : Self.explain(error.description, url: source.url))
            return error.kind == .eventTooLarge ? .closedAbnormally : .connectionFailed
        } catch {
            console.error("\(error)")
            return .connectionFailed
        }
        // The sequence finished: Ctrl-C, a 204, or the end of the stream with --no-reconnect.
        if let lastDisconnect, !lastDisconnect.cleanly { return .closedAbnormally }
        return .success
    }

    private func show(_ event: ServerSentEventParser.Event) {
        if json {
            let id = JSONText.quoted(event.lastEventID)
            console.incoming("{\"type\":\(JSONText.quoted(event.type)),\"id\":\(id),\"data\":\(JSONText.quoted(event.data))}")
            return
        }
        guard console.style.decorated else {
            console.incoming(event.data)
            return
        }
        var tags: [String] = []
        if event.type != "message" { tags.append(event.type) }
        if !event.lastEventID.isEmpty { tags.append("id=\(event.lastEventID)") }
        let prefix = tags.isEmpty ? "" : "[\(tags.joined(separator: " "))] "
        // Later lines of multi-line data line up under the first.
        let lines = event.data.split(separator: "\n", omittingEmptySubsequences: false)
        console.incoming(prefix + lines.joined(separator: "\n  "))
    }

    /// `host:port` of a URL, for messages.
    static func place(of url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        return String(rest.prefix { $0 != "/" && $0 != "?" })
    }

    /// A connection failure in words a person can act on.
    static func explain(_ reason: String, url: String) -> String {
        let place = Self.place(of: url)
        if reason.contains("CERTIFICATE_VERIFY_FAILED") {
            return "TLS handshake with \(place) failed: its certificate is not trusted (use --ca FILE, or -n for testing)"
        }
        if reason.contains("WRONG_VERSION_NUMBER") || reason.contains("EOF during handshake") {
            return "TLS handshake with \(place) failed: the server does not speak TLS on this port (try http://)"
        }
        return ClientErrorReport.connectionFailure(reason, place: place)
    }
}


/// JSON string literals (RFC 8259 §7), for `--json`.
enum JSONText {
    static func quoted(_ text: String) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}

extension Duration {
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
