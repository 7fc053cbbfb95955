import ArgumentParser
import CanalSocketIOClient
import NIOCore

/// The options of `canal io` in client mode, and the client configuration they make.
struct SocketIOOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The namespace to join (default: the URL's path, else /).", valueName: "name"))
    var namespace: String?

    @Option(help: ArgumentHelp("The CONNECT auth payload, a JSON object: '{\"token\":\"abc\"}'.", valueName: "json"))
    var auth: String?

    @Option(
        help: ArgumentHelp(
            "Only this transport: polling (HTTP long-polling) or websocket. Default: polling, upgraded to WebSocket.",
            valueName: "name"))
    var transport: TransportChoice?

    @Option(help: ArgumentHelp("The server's Socket.IO path.", valueName: "path"))
    var path = "/socket.io/"

    @Option(
        name: [.customShort("H"), .customLong("header")],
        help: ArgumentHelp("Add a request header (to every HTTP request and the WebSocket). Repeat for more.",
            valueName: "name:value")
    )
    var headers: [String] = []

    @Option(
        name: [.customShort("x"), .customLong("execute")],
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "Send this line after connecting (text, or a /command), then disconnect after -w seconds. Repeat to send several, in order.",
            valueName: "line"
        )
    )
    var execute: [String] = []

    @Option(
        name: [.customShort("w"), .customLong("wait")],
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds to wait after the -x lines (default 2) or the end of piped input (default 0) before disconnecting; -1 waits until the server disconnects or Ctrl-C.",
            valueName: "seconds")
    )
    var wait: Double?

    @Flag(
        help: "When the connection drops or cannot be made, connect again (1 s doubling to 5 s, randomized), recovering the session where the server keeps it."
    )
    var reconnect = false

    @Option(
        name: .customLong("max-reconnects"),
        help: ArgumentHelp("With --reconnect, give up after this many attempts in a row.", valueName: "n"))
    var maxReconnects: Int?

    @Option(
        name: .customLong("connect-timeout"),
        help: ArgumentHelp("Seconds allowed to open the connection, and again for the namespace to answer.",
            valueName: "seconds"))
    var connectTimeout: Double = 10

    @Option(
        name: .customLong("ack-timeout"),
        help: ArgumentHelp("Seconds to wait for the acknowledgement of a /call.", valueName: "seconds"))
    var ackTimeout: Double = 10

    enum TransportChoice: String, ExpressibleByArgument, CaseIterable {
        case polling
        case websocket
    }

    /// The options that make no sense in listen mode, for an error that names them.
    var clientOnlyOptionsGiven: [String] {
        var given: [String] = []
        if namespace != nil { given.append("--namespace") }
        if auth != nil { given.append("--auth") }
        if transport != nil { given.append("--transport") }
        if !headers.isEmpty { given.append("-H") }
        if !execute.isEmpty { given.append("-x") }
        if wait != nil { given.append("-w") }
        if reconnect || maxReconnects != nil { given.append("--reconnect") }
        return given
    }

    /// The parsed `--auth`.
    func authValue() throws(ValidationError) -> SocketIOValue? {
        guard let auth else { return nil }
        switch SocketIOInput.authObject(auth) {
        case .success(let value): return value
        case .failure(let error): throw ValidationError("--auth: \(error.description)")
        }
    }

    func makeConfiguration(tls: ClientTLSOptions) throws(ValidationError) -> SocketIOClientConfiguration {
        var configuration = SocketIOClientConfiguration()
        configuration.path = path.hasPrefix("/") ? path : "/" + path
        switch transport {
        case .polling?: configuration.engine.transports = [.polling]
        case .websocket?: configuration.engine.transports = [.websocket]
        case nil: break
        }
        for text in headers {
            switch RequestHeader.parse(text) {
            case .success(let header): configuration.headers.add(name: header.name, value: header.value)
            case .failure(let error): throw ValidationError(error.description)
            }
        }
        if let maxReconnects, maxReconnects < 0 { throw ValidationError("--max-reconnects must be 0 or more") }
        guard connectTimeout > 0 else { throw ValidationError("--connect-timeout must be more than 0") }
        guard ackTimeout > 0 else { throw ValidationError("--ack-timeout must be more than 0") }
        let timeout = TimeAmount.milliseconds(Int64(connectTimeout * 1000))
        configuration.engine.openTimeout = timeout
        configuration.connectTimeout = timeout
        configuration.webSocket.handshakeTimeout = timeout
        configuration.ackTimeout = .milliseconds(Int64(ackTimeout * 1000))
        configuration.reconnection.isEnabled = reconnect || maxReconnects != nil
        configuration.reconnection.maximumAttempts = maxReconnects
        configuration.tls = try tls.makeTLS()
        return configuration
    }
}
