import NIOCore
import Testing

@testable import CanalEngineIOCore

@Suite struct EnginePayloadTests {
    @Test func textPacketsJoinWithRecordSeparator() {
        let body = EnginePayload.encode([EnginePacket(.message, text: "hello"), .ping, EnginePacket(.message, text: "€")])
        #expect(Array(body.readableBytesView) == Array("4hello\u{1e}2\u{1e}4€".utf8))
    }

    @Test func binaryPacketIsBPlusBase64() {
        let body = EnginePayload.encode([EnginePacket(.message, data: ByteBuffer(bytes: [1, 2, 3, 4]), isBinary: true)])
        #expect(String(buffer: body) == "bAQIDBA==")
    }

    @Test func decodeSplitsMixedPayload() throws {
        let packets = try EnginePayload.decode(ByteBuffer(string: "4hello\u{1e}bAQIDBA==\u{1e}3\u{1e}1"))
        #expect(packets.count == 4)
        #expect(packets[0] == EnginePacket(.message, text: "hello"))
        #expect(packets[1] == EnginePacket(.message, data: ByteBuffer(bytes: [1, 2, 3, 4]), isBinary: true))
        #expect(packets[2].type == .pong)
        #expect(packets[3].type == .close)
    }

    @Test func decodeKeepsSeparatorFreeTextWhole() throws {
        let packets = try EnginePayload.decode(ByteBuffer(string: "4a,b\"c"))
        #expect(packets == [EnginePacket(.message, text: "a,b\"c")])
    }

    @Test(arguments: ["", "4a\u{1e}", "9x", "x", "b!!!!", "bAQI", "bA===", "bAQ=D"])
    func malformedPayloadsAreRejected(_ body: String) {
        #expect(throws: EngineDecodingError.self) { try EnginePayload.decode(ByteBuffer(string: body)) }
    }

    @Test func base64RoundTripsEveryLength() throws {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(($0 * 37 + 11) & 0xFF) }
            var text = ByteBuffer()
            Base64.encode(bytes, into: &text)
            let decoded = try #require(Base64.decode(text.readableBytesView))
            #expect(Array(decoded.readableBytesView) == bytes)
        }
    }

    @Test func webSocketTextCarriesTypeDigit() throws {
        let packet = try EnginePacket.decode(webSocketText: ByteBuffer(string: "2probe"))
        #expect(packet.type == .ping)
        #expect(packet.isProbe)
        #expect(String(buffer: EnginePacket.probePong.webSocketText()) == "3probe")
    }
}

@Suite struct EngineRequestTests {
    let configuration = EngineConfiguration()

    func classify(
        _ method: String = "GET", eio: String? = "4", transport: String? = "polling", sid: String? = nil,
        upgrade: Bool = false, session: EngineRequest.SessionFacts? = nil,
        configuration: EngineConfiguration? = nil
    ) -> Result<EngineRequest, EngineError> {
        EngineRequest.classify(
            method: method, protocolVersion: eio, transport: transport, sessionID: sid, isWebSocketUpgrade: upgrade,
            configuration: configuration ?? self.configuration, session: { _ in session })
    }

    @Test func pollingHandshake() {
        #expect(classify() == .success(.handshake(.polling)))
    }

    @Test func webSocketHandshakeNeedsUpgrade() {
        #expect(classify(transport: "websocket", upgrade: true) == .success(.handshake(.websocket)))
        #expect(classify(transport: "websocket") == .failure(EngineError(.badRequest)))
    }

    @Test func unknownTransportIsCode0() {
        #expect(classify(transport: "carrier-pigeon") == .failure(EngineError(.transportUnknown)))
        #expect(classify(transport: nil) == .failure(EngineError(.transportUnknown)))
        let pollingOnly = EngineConfiguration(transports: [.polling])
        #expect(classify(transport: "websocket", upgrade: true, configuration: pollingOnly)
            == .failure(EngineError(.transportUnknown)))
    }

    @Test func unknownSessionIsCode1() {
        #expect(classify(sid: "nope") == .failure(EngineError(.sessionIDUnknown)))
    }

    @Test func handshakeByPostIsCode2() {
        #expect(classify("POST") == .failure(EngineError(.badHandshakeMethod)))
    }

    @Test func protocolVersion3IsCode5() {
        #expect(classify(eio: "3") == .failure(EngineError(.unsupportedProtocolVersion)))
        #expect(classify(eio: nil) == .failure(EngineError(.unsupportedProtocolVersion)))
    }

    @Test func pollAndPostOnPollingSession() {
        let polling = EngineRequest.SessionFacts(transport: .polling, hasWebSocket: false)
        #expect(classify(sid: "s", session: polling) == .success(.poll(sessionID: "s")))
        #expect(classify("POST", sid: "s", session: polling) == .success(.post(sessionID: "s")))
        #expect(classify("PUT", sid: "s", session: polling) == .success(.unsupportedMethod))
    }

    @Test func secondWebSocketForSessionIsRefused() {
        let probing = EngineRequest.SessionFacts(transport: .polling, hasWebSocket: true)
        #expect(classify(transport: "websocket", sid: "s", upgrade: true, session: probing)
            == .failure(EngineError(.badRequest)))
        let polling = EngineRequest.SessionFacts(transport: .polling, hasWebSocket: false)
        #expect(classify(transport: "websocket", sid: "s", upgrade: true, session: polling)
            == .success(.upgrade(sessionID: "s")))
    }

    @Test func pollingRequestForWebSocketSessionIsCode3() {
        let webSocket = EngineRequest.SessionFacts(transport: .websocket, hasWebSocket: true)
        #expect(classify(sid: "s", session: webSocket) == .failure(EngineError(.badRequest)))
    }

    @Test func errorsAnswerAsTheOfficialServer() {
        #expect(EngineError(.sessionIDUnknown).json == #"{"code":1,"message":"Session ID unknown"}"#)
        #expect(EngineError(.forbidden).httpStatus == 403)
        #expect(EngineError(.badRequest).httpStatus == 400)
        #expect(EngineError(.forbidden, message: "no \"token\"").json == #"{"code":4,"message":"no \"token\""}"#)
    }

    @Test func handshakeJSONHasTheOfficialFields() {
        let json = EngineConfiguration().handshakeJSON(sessionID: "abc", transport: .polling)
        #expect(json == #"{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#)
        #expect(EngineConfiguration().handshakeJSON(sessionID: "abc", transport: .websocket).contains(#""upgrades":[]"#))
    }
}
