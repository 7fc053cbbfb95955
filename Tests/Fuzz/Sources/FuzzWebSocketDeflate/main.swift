import CanalWebSocketCompression
import CanalWebSocketCore
import FuzzSupport
import NIOHTTP1

// A server with permessage-deflate (RFC 7692) reading a client's frames: inflation of
// arbitrary data, decompression bombs against the message limit, context takeover and
// small windows. The mode byte picks the negotiated parameters.

let offers = [
    "permessage-deflate",
    "permessage-deflate; client_max_window_bits",
    "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; client_max_window_bits=9; server_max_window_bits=10",
    "permessage-deflate; client_max_window_bits=12",
]
let configurations: [PerMessageDeflateConfiguration] = [.balanced, .lowMemory, .conformance]

let limits = WebSocketConfiguration(
    maxFrameSize: 4096,
    maxMessageSize: 16_384,
    maxFragmentCount: 16,
    outboundFragmentSize: 200
)

func parse(_ header: String) -> [WebSocketExtensionOffer] {
    var headers = HTTPHeaders()
    headers.add(name: "Sec-WebSocket-Extensions", value: header)
    return WebSocketExtensionOffer.parse(headers) ?? []
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocketDeflate(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = FuzzInput(start, count)
    let offerText = offers[Int(input.mode) % offers.count]
    let configuration = configurations[Int(input.mode / 8) % configurations.count]
    let offer = parse(offerText)
    guard let serverSide = PerMessageDeflate.negotiate(offers: offer, configuration: configuration) else {
        fatalError("a valid offer was declined: \(offerText)")
    }
    guard case .success(let clientSide?) = PerMessageDeflate.accept(
        [serverSide.response], offered: offer[0], configuration: .conformance)
    else {
        fatalError("our own response was refused: \(serverSide.response)")
    }
    var driver = ConnectionDriver(
        endpoint: WebSocketConnection(role: .server, configuration: limits, extensions: [serverSide.makeExtension()]),
        peer: WebSocketConnection(role: .client, configuration: .conformance, extensions: [clientSide.makeExtension()])
    )
    driver.run(input)
    return 0
}

@_cdecl("FuzzWebSocketDeflate_main")
public func fuzzWebSocketDeflateMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        fuzzWebSocketDeflate(data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
