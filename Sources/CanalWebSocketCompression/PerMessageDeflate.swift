import CanalWebSocketCore
import NIOHTTP1

/// permessage-deflate negotiation (RFC 7692 §7.1), for both roles, without I/O.
///
/// A server calls `negotiate(offers:configuration:)` with the offers of an upgrade request
/// and, if it returns an agreement, sends `agreement.response` in its 101 and runs the
/// connection with `agreement.makeExtension()`. A client sends `offer(configuration:)`
/// and checks the server's answer with `accept(_:offered:configuration:)`.
public enum PerMessageDeflate {
    /// The extension token.
    public static let name = PerMessageDeflateParameters.name

    /// The first acceptable permessage-deflate offer among `offers`, as an agreement; nil
    /// when there is none, and the connection goes on uncompressed.
    ///
    /// RFC 7692 §7.1: an offer with an unknown parameter, a parameter given twice or a
    /// value out of range is declined, and so is one with `server_max_window_bits` that
    /// this server cannot honour; the next offer is tried.
    public static func negotiate(
        offers: [WebSocketExtensionOffer],
        configuration: PerMessageDeflateConfiguration
    ) -> PerMessageDeflateAgreement? {
        for element in offers where element.name.lowercased() == name {
            guard case .success(let offer) = PerMessageDeflateParameters.parse(element, isResponse: false) else {
                continue
            }
            var response = PerMessageDeflateParameters()
            // RFC 7692 §7.1.1.1: a server accepting server_no_context_takeover must say so;
            // it may also announce it on its own.
            response.serverNoContextTakeover = offer.serverNoContextTakeover || !configuration.contextTakeover
            // RFC 7692 §7.1.1.2: a server may ask the client not to keep its context even
            // if the client did not offer it. The client's own hint is taken up: it costs
            // the client nothing and spares us its window.
            var clientKeepsNoContext = offer.clientNoContextTakeover || !configuration.peerContextTakeover
            var peerWindowLimit = configuration.clampedPeerWindowBits
            // A client that keeps its context makes us keep its window for the whole
            // connection: bound it where asked to. RFC 7692 §7.1.2.2: a smaller window can
            // be asked for only if the client offered client_max_window_bits; otherwise
            // the only bound left is no context at all.
            if !clientKeepsNoContext, let kept = configuration.clampedKeptPeerWindowBits, kept < 15 {
                if offer.clientMaxWindowBitsPresent {
                    peerWindowLimit = min(peerWindowLimit, kept)
                } else {
                    clientKeepsNoContext = true
                }
            }
            response.clientNoContextTakeover = clientKeepsNoContext
            // RFC 7692 §7.1.2.1: honour the client's limit, and announce a smaller window.
            let window = min(configuration.clampedWindowBits, offer.serverMaxWindowBits ?? 15)
            if offer.serverMaxWindowBits != nil || window < 15 {
                response.serverMaxWindowBits = window
            }
            // RFC 7692 §7.1.2.2: client_max_window_bits may be answered only if offered.
            if offer.clientMaxWindowBitsPresent {
                let peerWindow = min(peerWindowLimit, offer.clientMaxWindowBits ?? 15)
                if peerWindow < 15 || offer.clientMaxWindowBits != nil {
                    response.clientMaxWindowBitsPresent = true
                    response.clientMaxWindowBits = peerWindow
                }
            }
            return PerMessageDeflateAgreement(role: .server, parameters: response, configuration: configuration)
        }
        return nil
    }

    /// The offer a client sends: what a browser sends (`client_max_window_bits`), plus
    /// what `configuration` asks of the server or announces about the client.
    public static func offer(configuration: PerMessageDeflateConfiguration) -> WebSocketExtensionOffer {
        var offer = PerMessageDeflateParameters()
        offer.clientMaxWindowBitsPresent = true
        if configuration.clampedWindowBits < 15 {
            offer.clientMaxWindowBits = configuration.clampedWindowBits
        }
        offer.clientNoContextTakeover = !configuration.contextTakeover
        offer.serverNoContextTakeover = !configuration.peerContextTakeover
        if configuration.clampedPeerWindowBits < 15 {
            offer.serverMaxWindowBits = configuration.clampedPeerWindowBits
        }
        return offer.element
    }

    /// Checks the extensions a server accepted against the offer sent.
    ///
    /// Returns nil when the server declined compression. RFC 7692 §7.1: the client must
    /// fail the connection when the response has an unknown or repeated parameter, a
    /// value out of range, `client_max_window_bits` the client did not offer, a larger
    /// window or missing `server_no_context_takeover` where the client asked for them,
    /// or permessage-deflate more than once.
    public static func accept(
        _ accepted: [WebSocketExtensionOffer],
        offered: WebSocketExtensionOffer,
        configuration: PerMessageDeflateConfiguration
    ) -> Result<PerMessageDeflateAgreement?, WebSocketHandshakeError> {
        let elements = accepted.filter { $0.name.lowercased() == name }
        guard let element = elements.first else { return .success(nil) }
        func failure(_ text: String) -> Result<PerMessageDeflateAgreement?, WebSocketHandshakeError> {
            .failure(
                WebSocketHandshakeError(status: .switchingProtocols, "invalid permessage-deflate response: \(text)")
            )
        }
        guard elements.count == 1 else { return failure("accepted more than once") }
        let response: PerMessageDeflateParameters
        switch PerMessageDeflateParameters.parse(element, isResponse: true) {
        case .success(let parameters):
            response = parameters
        case .failure(.unknownParameter(let parameter)):
            return failure("unknown parameter \(parameter)")
        case .failure(.duplicateParameter(let parameter)):
            return failure("\(parameter) given twice")
        case .failure(.invalidValue(let parameter)):
            return failure("invalid value for \(parameter)")
        }
        guard case .success(let ours) = PerMessageDeflateParameters.parse(offered, isResponse: false) else {
            return failure("the offer sent was invalid")
        }
        if response.clientMaxWindowBitsPresent, !ours.clientMaxWindowBitsPresent {
            return failure("client_max_window_bits was not offered")
        }
        if let asked = ours.serverMaxWindowBits {
            guard let granted = response.serverMaxWindowBits, granted <= asked else {
                return failure("server_max_window_bits above the \(asked) asked for")
            }
        }
        if ours.serverNoContextTakeover, !response.serverNoContextTakeover {
            return failure("server_no_context_takeover was asked for and not granted")
        }
        return .success(PerMessageDeflateAgreement(role: .client, parameters: response, configuration: configuration))
    }
}

/// What both ends agreed to, seen from one of them.
public struct PerMessageDeflateAgreement: Sendable, Hashable {
    public let role: WebSocketRole
    /// The parameters of the server's response.
    public let parameters: PerMessageDeflateParameters
    public let configuration: PerMessageDeflateConfiguration

    /// The window this endpoint compresses with (8 to 15; zlib gets 9 for 8).
    public let sendingWindowBits: Int
    /// Whether this endpoint keeps its compression context between messages.
    public let sendingContextTakeover: Bool
    /// The window the peer compresses with, which our decompressor must hold.
    public let receivingWindowBits: Int
    /// Whether the peer may refer to earlier messages, so that our decompressor keeps its window.
    public let receivingContextTakeover: Bool

    init(role: WebSocketRole, parameters: PerMessageDeflateParameters, configuration: PerMessageDeflateConfiguration) {
        self.role = role
        self.parameters = parameters
        self.configuration = configuration
        switch role {
        case .server:
            sendingWindowBits = min(configuration.clampedWindowBits, parameters.serverMaxWindowBits ?? 15)
            sendingContextTakeover = configuration.contextTakeover && !parameters.serverNoContextTakeover
            receivingWindowBits = parameters.clientMaxWindowBits ?? 15
            receivingContextTakeover = !parameters.clientNoContextTakeover
        case .client:
            sendingWindowBits = min(configuration.clampedWindowBits, parameters.clientMaxWindowBits ?? 15)
            sendingContextTakeover = configuration.contextTakeover && !parameters.clientNoContextTakeover
            receivingWindowBits = parameters.serverMaxWindowBits ?? 15
            receivingContextTakeover = !parameters.serverNoContextTakeover
        }
    }

    /// The element a server puts in `Sec-WebSocket-Extensions`.
    public var response: WebSocketExtensionOffer { parameters.element }

    /// A fresh codec for one connection. It allocates no zlib state until used.
    public func makeExtension() -> PerMessageDeflateExtension {
        PerMessageDeflateExtension(agreement: self)
    }
}
