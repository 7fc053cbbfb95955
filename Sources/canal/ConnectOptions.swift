import ArgumentParser
import CanalWebSocket
import Foundation

/// The wscat options of connect mode, and what they turn into.
struct ConnectOptions: ParsableArguments {
    @Option(
        name: [.customShort("H"), .customLong("header")],
        help: ArgumentHelp("Add a request header. Repeat for more.", valueName: "name:value")
    )
    var headers: [String] = []

    @Option(name: [.customShort("o"), .long], help: "The Origin header to send.")
    var origin: String?

    @Option(name: .customLong("host"), help: "The Host header to send, instead of the URL's host.")
    var host: String?

    @Option(
        name: [.customShort("p"), .customLong("protocol")],
        help: ArgumentHelp("WebSocket protocol version; only 13 (RFC 6455) is spoken.", valueName: "version")
    )
    var protocolVersion: Int?

    @Option(help: ArgumentHelp("Basic authentication (Authorization header).", valueName: "username:password"))
    var auth: String?

    @Option(
        name: [.customShort("x"), .customLong("execute")],
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "Send this message after connecting, then close after -w seconds. Repeat to send several, in order; with --slash, /commands work here too.",
            valueName: "message"
        )
    )
    var execute: [String] = []

    @Option(
        name: [.customShort("w"), .customLong("wait")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds to wait after the -x messages (default 2) or the end of piped input (default 0) before closing; -1 waits until the server closes or Ctrl-C.",
            valueName: "seconds")
    )
    var wait: Double?

    @OptionGroup
    var tls: ClientTLSOptions

    @Flag(name: [.customShort("L"), .customLong("location")], help: "Follow HTTP redirects (301, 302, 303, 307, 308).")
    var followRedirects = false

    @Option(
        name: .customLong("max-redirects"), help: ArgumentHelp("Redirects to follow with -L at most.", valueName: "n"))
    var maxRedirects = 10

    @Flag(help: "When the connection fails or drops, connect again with backoff (0.5 s doubling to 30 s) until Ctrl-C.")
    var reconnect = false

    @Option(
        name: .customLong("max-reconnects"),
        help: ArgumentHelp("With --reconnect, give up after this many attempts in a row.", valueName: "n"))
    var maxReconnects: Int?

    @Option(
        name: .customLong("connect-timeout"),
        help: ArgumentHelp("Seconds allowed for TCP connect plus the handshake.", valueName: "seconds"))
    var connectTimeout: Double = 10

    /// The options this mode uses that listen mode does not, for an error that names them.
    var connectOnlyOptionsGiven: [String] {
        var given: [String] = []
        if !headers.isEmpty { given.append("-H") }
        if origin != nil { given.append("-o") }
        if host != nil { given.append("--host") }
        if protocolVersion != nil { given.append("-p") }
        if auth != nil { given.append("--auth") }
        if !execute.isEmpty { given.append("-x") }
        if wait != nil { given.append("-w") }
        given += tls.given
        if followRedirects { given.append("-L") }
        if reconnect || maxReconnects != nil { given.append("--reconnect") }
        return given
    }

    /// Checks everything that can be checked before connecting, and builds the configuration.
    func makeConfiguration(subprotocols: [String]) throws(ValidationError) -> WebSocketClientConfiguration {
        var configuration = WebSocketClientConfiguration()
        // -P shows pings and pongs, so the inbound sequence must carry them.
        configuration.webSocket.exposesPingPong = true
        configuration.protocols = subprotocols
        configuration.origin = origin
        configuration.handshakeTimeout = .milliseconds(Int64(max(connectTimeout, 0.001) * 1000))
        for text in headers {
            switch RequestHeader.parse(text) {
            case .success(let header): configuration.headers.add(name: header.name, value: header.value)
            case .failure(let error): throw ValidationError(error.description)
            }
        }
        if let host {
            configuration.headers.replaceOrAdd(name: "Host", value: host)
        }
        if let auth {
            configuration.headers.replaceOrAdd(name: "Authorization", value: RequestHeader.basicAuthorization(auth))
        }
        if let protocolVersion, protocolVersion != 13 {
            throw ValidationError(
                "protocol version \(protocolVersion) is not supported: canal speaks version 13 (RFC 6455)")
        }
        if maxRedirects < 0 { throw ValidationError("--max-redirects must be 0 or more") }
        if let maxReconnects, maxReconnects < 0 { throw ValidationError("--max-reconnects must be 0 or more") }
        if connectTimeout <= 0 { throw ValidationError("--connect-timeout must be more than 0") }
        configuration.tls = try tls.makeTLS()
        return configuration
    }
}
