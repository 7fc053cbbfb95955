import NIOCore
import NIOHTTP1
import Testing

@testable import CanalWebSocketCompression
@testable import CanalWebSocketCore

/// RFC 7692 §7.1: what a server answers to each offer, and what a client accepts.
@Suite("§7.1 negotiation")
struct PerMessageDeflateNegotiationTests {
    // MARK: Server

    /// (offer header, configuration, expected response element or nil for "declined").
    static let serverCases: [(String, PerMessageDeflateConfiguration, String?)] = [
        // Plain offer: the default announces it keeps no context of its own, and, unable to
        // ask for a smaller window, asks the client to keep none (RFC 7692 §7.1.1.2).
        (
            "permessage-deflate", .balanced,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        ),
        ("permessage-deflate", .maximumCompression, "permessage-deflate"),
        // The offer of browsers, Node's ws and python's websockets: the default bounds the
        // client's window, and so what it keeps, to 12 bits (RFC 7692 §7.1.2.2).
        (
            "permessage-deflate; client_max_window_bits", .balanced,
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"
        ),
        ("permessage-deflate; client_max_window_bits", .maximumCompression, "permessage-deflate"),
        // A client's own smaller window stands; a larger one is brought down.
        (
            "permessage-deflate; client_max_window_bits=10", .balanced,
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"
        ),
        (
            "permessage-deflate; client_max_window_bits=15", .balanced,
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"
        ),
        // A client that keeps no context (its hint, taken up) is held to no smaller window:
        // nothing of it is kept between messages. Autobahn's offers, and Canal's client's.
        (
            "permessage-deflate; client_no_context_takeover; client_max_window_bits", .balanced,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        ),
        (
            "permessage-deflate; client_no_context_takeover", .balanced,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        ),
        // No bound, or a bound of 15: the client keeps its context with any window.
        ("permessage-deflate", .unboundedPeer, "permessage-deflate; server_no_context_takeover"),
        (
            "permessage-deflate; client_max_window_bits", .unboundedPeer,
            "permessage-deflate; server_no_context_takeover"
        ),
        ("permessage-deflate", .keptPeerWindow(15), "permessage-deflate; server_no_context_takeover"),
        // The smaller of peerMaxWindowBits and the bound is asked for.
        (
            "permessage-deflate; client_max_window_bits", .keptPeerWindow(12, peerMaxWindowBits: 10),
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"
        ),
        (
            "permessage-deflate; client_max_window_bits", .keptPeerWindow(9),
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=9"
        ),
        // The client's limit on our window is honoured alongside.
        (
            "permessage-deflate; server_max_window_bits=10", .balanced,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"
        ),
        // client_max_window_bits with a value: the client's window is echoed.
        (
            "permessage-deflate; client_max_window_bits=10", .maximumCompression,
            "permessage-deflate; client_max_window_bits=10"
        ),
        // Our limit on the client's window needs the client's consent (the parameter).
        (
            "permessage-deflate; client_max_window_bits", .lowMemory,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12"
        ),
        (
            "permessage-deflate", .lowMemory,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12"
        ),
        (
            "permessage-deflate; client_max_window_bits=9", .lowMemory,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=9"
        ),
        // The client limits the server's window, down to 8.
        (
            "permessage-deflate; server_max_window_bits=10", .maximumCompression,
            "permessage-deflate; server_max_window_bits=10"
        ),
        (
            "permessage-deflate; server_max_window_bits=8", .maximumCompression,
            "permessage-deflate; server_max_window_bits=8"
        ),
        (
            "permessage-deflate; server_max_window_bits=15", .lowMemory,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12"
        ),
        // Context takeover requests are honoured and echoed.
        (
            "permessage-deflate; server_no_context_takeover", .maximumCompression,
            "permessage-deflate; server_no_context_takeover"
        ),
        (
            "permessage-deflate; client_no_context_takeover", .maximumCompression,
            "permessage-deflate; client_no_context_takeover"
        ),
        (
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8",
            .maximumCompression,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8"
        ),
        // A quoted value is a value (RFC 6455 §9.1).
        (
            "permessage-deflate; server_max_window_bits=\"10\"", .maximumCompression,
            "permessage-deflate; server_max_window_bits=10"
        ),
        // Declined: unknown parameter, repeated parameter, values missing or out of range,
        // a value on a flag.
        ("permessage-deflate; foo", .balanced, nil),
        ("permessage-deflate; foo=1", .balanced, nil),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", .balanced, nil),
        ("permessage-deflate; client_max_window_bits; client_max_window_bits=10", .balanced, nil),
        ("permessage-deflate; server_max_window_bits", .balanced, nil),
        ("permessage-deflate; server_max_window_bits=7", .balanced, nil),
        ("permessage-deflate; server_max_window_bits=16", .balanced, nil),
        ("permessage-deflate; server_max_window_bits=08", .balanced, nil),
        ("permessage-deflate; server_max_window_bits=1a", .balanced, nil),
        ("permessage-deflate; client_max_window_bits=16", .balanced, nil),
        ("permessage-deflate; client_max_window_bits=0", .balanced, nil),
        ("permessage-deflate; server_no_context_takeover=1", .balanced, nil),
        ("permessage-deflate; client_no_context_takeover=true", .balanced, nil),
        // Other extensions only.
        ("x-webkit-deflate-frame", .balanced, nil),
        ("", .balanced, nil),
    ]

    @Test(arguments: serverCases)
    func serverAnswersOffer(_ offer: String, _ configuration: PerMessageDeflateConfiguration, _ expected: String?) {
        let agreement = PerMessageDeflate.negotiate(offers: offers(offer), configuration: configuration)
        #expect(agreement?.response.description == expected)
    }

    @Test
    func serverWithSeveralOffersPicksTheFirstAcceptable() {
        let header =
            "x-webkit-deflate-frame, permessage-deflate; foo, permessage-deflate; server_max_window_bits=20, "
            + "permessage-deflate; client_max_window_bits=9, permessage-deflate"
        let agreement = PerMessageDeflate.negotiate(offers: offers(header), configuration: .maximumCompression)
        #expect(agreement?.response.description == "permessage-deflate; client_max_window_bits=9")
        #expect(agreement?.receivingWindowBits == 9)
    }

    @Test
    func serverWithSeveralOffersInSeveralHeadersPicksTheFirstAcceptable() {
        var headers = HTTPHeaders()
        headers.add(name: "Sec-WebSocket-Extensions", value: "permessage-deflate; server_max_window_bits")
        headers.add(name: "Sec-WebSocket-Extensions", value: "permessage-deflate; server_no_context_takeover")
        let parsed = WebSocketExtensionOffer.parse(headers)!
        let agreement = PerMessageDeflate.negotiate(offers: parsed, configuration: .maximumCompression)
        #expect(agreement?.response.description == "permessage-deflate; server_no_context_takeover")
    }

    @Test
    func serverAgreementTellsEachSideItsWindowAndContext() {
        let offer =
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11"
        let agreement = PerMessageDeflate.negotiate(offers: offers(offer), configuration: .maximumCompression)!
        #expect(agreement.sendingWindowBits == 10)
        #expect(agreement.sendingContextTakeover == false)
        #expect(agreement.receivingWindowBits == 11)
        #expect(agreement.receivingContextTakeover == true)
    }

    @Test
    func serverAgreementWithDefaultBoundsKeepsTheBrowsersWindowAsBytesOnly() {
        let agreement = PerMessageDeflate.negotiate(
            offers: offers("permessage-deflate; client_max_window_bits"),
            configuration: .balanced
        )!
        #expect(agreement.receivingWindowBits == 12)
        #expect(agreement.receivingContextTakeover == true)
        #expect(agreement.sendingContextTakeover == false)
        #expect(agreement.makeExtension().keepsHistoryOnly)
        // A 15-bit window is kept in a zlib stream, as before.
        let unbounded = PerMessageDeflate.negotiate(
            offers: offers("permessage-deflate; client_max_window_bits"),
            configuration: .unboundedPeer
        )!
        #expect(unbounded.receivingWindowBits == 15)
        #expect(!unbounded.makeExtension().keepsHistoryOnly)
    }

    @Test
    func serverAgreementWithDefaultAndPlainOfferKeepsNothingOfThePeer() {
        let agreement = PerMessageDeflate.negotiate(offers: offers("permessage-deflate"), configuration: .balanced)!
        #expect(agreement.receivingContextTakeover == false)
        #expect(agreement.receivingWindowBits == 15)
        #expect(!agreement.makeExtension().keepsHistoryOnly)
    }

    @Test
    func clientOfferIgnoresTheBoundOnThePeersKeptWindow() {
        // maxKeptPeerWindowBits is for servers: a client's offer stays what browsers send.
        #expect(
            PerMessageDeflate.offer(configuration: .keptPeerWindow(9)).description
                == PerMessageDeflate.offer(configuration: .unboundedPeer).description
        )
    }

    @Test
    func serverNegotiatingEightBitWindowCompressesWithNine() {
        let agreement = PerMessageDeflate.negotiate(
            offers: offers("permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"),
            configuration: .maximumCompression
        )!
        #expect(agreement.sendingWindowBits == 8)
        let codec = agreement.makeExtension()
        // zlib refuses raw deflate with 8 bits.
        #expect(codec.compressorWindowBits == 9)
        #expect(codec.decompressorWindowBits == 9)
    }

    // MARK: Client offer

    @Test
    func clientOffersWhatBrowsersOfferByDefault() {
        #expect(
            PerMessageDeflate.offer(configuration: .balanced).description
                == "permessage-deflate; client_no_context_takeover; client_max_window_bits"
        )
        #expect(
            PerMessageDeflate.offer(configuration: .maximumCompression).description
                == "permessage-deflate; client_max_window_bits"
        )
        #expect(
            PerMessageDeflate.offer(configuration: .lowMemory).description
                == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12"
        )
    }

    // MARK: Client checking the response

    /// (response header, configuration whose offer was sent, expected agreement description or
    /// "decline" for no compression, or "fail").
    static let clientCases: [(String, PerMessageDeflateConfiguration, String)] = [
        ("", .balanced, "decline"),
        ("x-other", .balanced, "decline"),
        ("permessage-deflate", .balanced, "permessage-deflate"),
        ("permessage-deflate; server_no_context_takeover", .balanced, "permessage-deflate; server_no_context_takeover"),
        (
            "permessage-deflate; client_no_context_takeover", .maximumCompression,
            "permessage-deflate; client_no_context_takeover"
        ),
        ("permessage-deflate; client_max_window_bits=8", .balanced, "permessage-deflate; client_max_window_bits=8"),
        ("permessage-deflate; server_max_window_bits=9", .balanced, "permessage-deflate; server_max_window_bits=9"),
        (
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12", .lowMemory,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12"
        ),
        (
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=8", .lowMemory,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=8"
        ),
        // Invalid responses fail the handshake.
        ("permessage-deflate; foo", .balanced, "fail"),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", .balanced, "fail"),
        ("permessage-deflate; server_max_window_bits=16", .balanced, "fail"),
        ("permessage-deflate; server_max_window_bits=7", .balanced, "fail"),
        ("permessage-deflate; server_max_window_bits", .balanced, "fail"),
        ("permessage-deflate; client_max_window_bits", .balanced, "fail"),
        ("permessage-deflate; client_max_window_bits=16", .balanced, "fail"),
        ("permessage-deflate; server_no_context_takeover=x", .balanced, "fail"),
        ("permessage-deflate, permessage-deflate", .balanced, "fail"),
        // What the offer asked for must be granted.
        ("permessage-deflate; server_no_context_takeover", .lowMemory, "fail"),
        ("permessage-deflate; server_max_window_bits=12", .lowMemory, "fail"),
        ("permessage-deflate; server_no_context_takeover; server_max_window_bits=13", .lowMemory, "fail"),
    ]

    @Test(arguments: clientCases)
    func clientChecksResponse(_ response: String, _ configuration: PerMessageDeflateConfiguration, _ expected: String) {
        let sent = PerMessageDeflate.offer(configuration: configuration)
        switch PerMessageDeflate.accept(offers(response), offered: sent, configuration: configuration) {
        case .success(nil):
            #expect(expected == "decline")
        case .success(let agreement?):
            #expect(agreement.response.description == expected)
        case .failure(let error):
            #expect(expected == "fail", "\(error)")
        }
    }

    @Test
    func clientFailsWhenServerAnswersClientMaxWindowBitsItDidNotOffer() {
        let sent = element("permessage-deflate")
        let result = PerMessageDeflate.accept(
            offers("permessage-deflate; client_max_window_bits=10"),
            offered: sent,
            configuration: .balanced
        )
        guard case .failure(let error) = result else {
            Issue.record("accepted \(result)")
            return
        }
        #expect(error.description.contains("client_max_window_bits was not offered"))
    }

    @Test
    func clientAgreementUsesTheServersLimitOnItsWindow() {
        let sent = PerMessageDeflate.offer(configuration: .maximumCompression)
        let agreement = try! PerMessageDeflate.accept(
            offers(
                "permessage-deflate; client_no_context_takeover; client_max_window_bits=8; server_no_context_takeover"
            ),
            offered: sent,
            configuration: .maximumCompression
        ).get()!
        #expect(agreement.sendingWindowBits == 8)
        #expect(agreement.sendingContextTakeover == false)
        #expect(agreement.receivingWindowBits == 15)
        #expect(agreement.receivingContextTakeover == false)
        #expect(agreement.makeExtension().compressorWindowBits == 9)
    }
}

extension PerMessageDeflateConfiguration {
    /// `.balanced` without a bound on the client's kept window (the default before it had one).
    static var unboundedPeer: Self {
        var configuration = Self.balanced
        configuration.maxKeptPeerWindowBits = nil
        return configuration
    }

    static func keptPeerWindow(_ bits: Int, peerMaxWindowBits: Int = 15) -> Self {
        var configuration = Self.balanced
        configuration.maxKeptPeerWindowBits = bits
        configuration.peerMaxWindowBits = peerMaxWindowBits
        return configuration
    }
}
