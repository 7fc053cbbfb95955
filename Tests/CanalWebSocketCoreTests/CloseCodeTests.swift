import Testing

@testable import CanalWebSocketCore

/// RFC 6455 §7.4: which codes may travel, and which code each failure sends.
@Suite("§7.4 close codes")
struct CloseCodeTests {
    @Test
    func closeCodeAcceptableFromPeerExactlyInTheRFCAndIANARanges() {
        for raw in UInt16.min...UInt16.max {
            let code = WebSocketCloseCode(raw)
            let expected = (1000...1003).contains(raw) || (1007...1014).contains(raw) || (3000...4999).contains(raw)
            #expect(code.isAcceptableFromPeer == expected, "\(raw)")
            #expect(code.isSendable == expected, "\(raw)")
        }
    }

    @Test
    func closeCodeConstantsHaveTheRFCValues() {
        let constants: [(WebSocketCloseCode, UInt16)] = [
            (.normalClosure, 1000), (.goingAway, 1001), (.protocolError, 1002), (.unsupportedData, 1003),
            (.noStatusReceived, 1005), (.abnormalClosure, 1006), (.invalidFramePayloadData, 1007),
            (.policyViolation, 1008), (.messageTooBig, 1009), (.mandatoryExtension, 1010),
            (.internalError, 1011), (.serviceRestart, 1012), (.tryAgainLater, 1013), (.badGateway, 1014),
            (.tlsHandshakeFailure, 1015),
        ]
        for (code, raw) in constants {
            #expect(code.rawValue == raw)
        }
    }

    static let kinds: [(WebSocketProtocolError.Kind, UInt16)] = [
        (.reservedBitsSet, 1002), (.reservedOpcode(3), 1002), (.unmaskedClientFrame, 1002),
        (.maskedServerFrame, 1002), (.fragmentedControlFrame, 1002), (.controlFrameTooLong(126), 1002),
        (.lengthTooLarge, 1002), (.unexpectedContinuation, 1002), (.expectedContinuation, 1002),
        (.frameTooBig(1 << 30), 1009), (.messageTooBig, 1009), (.tooManyFragments, 1009), (.invalidUTF8, 1007),
        (.invalidCloseCode(1005), 1002), (.closePayloadOfOneByte, 1002), (.invalidCloseReasonUTF8, 1007),
        (.dataAfterClose, 1002), (.extensionFailure("secret detail"), 1002), (.keepaliveTimeout, 1011),
    ]

    @Test
    func protocolErrorMapsEveryKindToItsCloseCodeWithAShortGenericReason() {
        for (kind, code) in Self.kinds {
            let error = WebSocketProtocolError(kind)
            #expect(error.closeCode.rawValue == code, "\(kind)")
            #expect(error.closeCode.isSendable, "\(kind)")
            #expect(!error.reason.isEmpty, "\(kind)")
            #expect(error.reason.utf8.count <= 123, "\(kind)")
            // Reasons never carry detail such as numbers or extension messages.
            #expect(!error.reason.contains("secret"), "\(kind)")
            #expect(!error.reason.contains(where: \.isNumber) || error.reason.contains("UTF-8"), "\(kind)")
        }
    }
}
