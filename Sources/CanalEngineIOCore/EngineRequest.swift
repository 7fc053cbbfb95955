/// What an HTTP request to the Engine.IO path asks for, decided from its method, its query
/// and whether it asks to upgrade to WebSocket, in the official server's order of checks.
public enum EngineRequest: Sendable, Hashable {
    /// A new session on this transport (a GET without `sid`, or a WebSocket without `sid`).
    case handshake(EngineTransport)
    /// A long-polling GET for the session's next packets.
    case poll(sessionID: String)
    /// A long-polling POST carrying packets from the client.
    case post(sessionID: String)
    /// A WebSocket for an existing polling session: the upgrade.
    case upgrade(sessionID: String)
    /// A method long-polling does not know, on an existing session (answered 500, as the official server does).
    case unsupportedMethod

    /// What the checks need to know of an existing session.
    public struct SessionFacts: Sendable, Hashable {
        public var transport: EngineTransport
        /// True once a WebSocket has started or finished upgrading this session.
        public var hasWebSocket: Bool

        public init(transport: EngineTransport, hasWebSocket: Bool) {
            self.transport = transport
            self.hasWebSocket = hasWebSocket
        }
    }

    /// Classifies a request.
    ///
    /// - Parameters:
    ///   - method: the HTTP method, upper case.
    ///   - protocolVersion: the `EIO` query parameter.
    ///   - transport: the `transport` query parameter.
    ///   - sessionID: the `sid` query parameter.
    ///   - isWebSocketUpgrade: the request carries `Upgrade: websocket`.
    ///   - session: looks a session up by id.
    public static func classify(
        method: String,
        protocolVersion: String?,
        transport: String?,
        sessionID: String?,
        isWebSocketUpgrade: Bool,
        configuration: EngineConfiguration,
        session: (String) -> SessionFacts?
    ) -> Result<EngineRequest, EngineError> {
        guard let transport = transport.flatMap(EngineTransport.init(rawValue:)),
            configuration.transports.contains(transport)
        else { return .failure(EngineError(.transportUnknown)) }
        if let sessionID {
            guard let facts = session(sessionID) else { return .failure(EngineError(.sessionIDUnknown)) }
            if isWebSocketUpgrade {
                // One WebSocket per session: a second one, or one for a WebSocket session, is refused.
                guard transport == .websocket, facts.transport == .polling, !facts.hasWebSocket,
                    configuration.allowUpgrades
                else { return .failure(EngineError(.badRequest)) }
                return .success(.upgrade(sessionID: sessionID))
            }
            guard transport == .polling, facts.transport == .polling else { return .failure(EngineError(.badRequest)) }
            switch method {
            case "GET": return .success(.poll(sessionID: sessionID))
            case "POST": return .success(.post(sessionID: sessionID))
            default: return .success(.unsupportedMethod)
            }
        }
        guard method == "GET" else { return .failure(EngineError(.badHandshakeMethod)) }
        // A WebSocket request must say websocket, and a plain request must not.
        guard isWebSocketUpgrade == (transport == .websocket) else { return .failure(EngineError(.badRequest)) }
        // Engine.IO v3 clients (EIO=3, or no EIO at all) are not served.
        guard protocolVersion == "4" else { return .failure(EngineError(.unsupportedProtocolVersion)) }
        return .success(.handshake(transport))
    }
}
