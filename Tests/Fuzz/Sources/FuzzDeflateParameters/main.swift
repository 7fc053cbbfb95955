import CanalWebSocketCompression
import CanalWebSocketCore
import FuzzSupport
import NIOCore
import NIOHTTP1

// permessage-deflate parameters (RFC 7692 §7) in both directions: the input is a
// Sec-WebSocket-Extensions value, read as a client's offer by the server and as a
// server's response by a client. Whatever is agreed must make working codecs.

let configurations: [PerMessageDeflateConfiguration] = [.balanced, .lowMemory, .maximumCompression, .conformance]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDeflateParameters(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = FuzzInput(start, count)
    var headers = HTTPHeaders()
    for line in input.lines { headers.add(name: "Sec-WebSocket-Extensions", value: line) }
    guard let elements = WebSocketExtensionOffer.parse(headers) else { return 0 }
    for element in elements {
        // What we print must parse back to the same element.
        var again = HTTPHeaders()
        again.add(name: "Sec-WebSocket-Extensions", value: element.description)
        fuzzCheck(WebSocketExtensionOffer.parse(again) == [element], "\(element) does not round-trip")
    }
    let configuration = configurations[Int(input.mode) % configurations.count]
    if let agreement = PerMessageDeflate.negotiate(offers: elements, configuration: configuration) {
        fuzzCheck((8...15).contains(agreement.sendingWindowBits), "window \(agreement.sendingWindowBits)")
        fuzzCheck((8...15).contains(agreement.receivingWindowBits), "window \(agreement.receivingWindowBits)")
        // The client that made the offer we took must accept our response (RFC 7692 §7.1).
        let taken = elements.first { PerMessageDeflate.negotiate(offers: [$0], configuration: configuration) != nil }!
        switch PerMessageDeflate.accept([agreement.response], offered: taken, configuration: .conformance) {
        case .success(let client?):
            roundTrip(server: agreement, client: client)
        case .success(nil):
            fuzzCheck(false, "the client saw no permessage-deflate in \(agreement.response)")
        case .failure(let error):
            fuzzCheck(false, "the client refused \(agreement.response) to its offer \(taken): \(error)")
        }
    }
    let offered = PerMessageDeflate.offer(configuration: configuration)
    if case .success(let agreement?) = PerMessageDeflate.accept(elements, offered: offered, configuration: configuration) {
        fuzzCheck((8...15).contains(agreement.sendingWindowBits), "window \(agreement.sendingWindowBits)")
        fuzzCheck((8...15).contains(agreement.receivingWindowBits), "window \(agreement.receivingWindowBits)")
    }
    return 0
}

/// Messages compressed by each side come back whole on the other.
func roundTrip(server: PerMessageDeflateAgreement, client: PerMessageDeflateAgreement) {
    var serverEnd = WebSocketConnection(role: .server, extensions: [server.makeExtension()])
    var clientEnd = WebSocketConnection(role: .client, extensions: [client.makeExtension()])
    for round in 0..<3 {
        let message = WebSocketMessage(
            kind: .text,
            data: ByteBuffer(string: String(repeating: "fuzz \(round) ", count: 60)),
            compression: .always
        )
        try? serverEnd.send(message)
        try? clientEnd.send(message)
        while case .bytes(let bytes)? = serverEnd.nextOutput() { clientEnd.receive(bytes) }
        while case .bytes(let bytes)? = clientEnd.nextOutput() { serverEnd.receive(bytes) }
        fuzzCheck(serverEnd.nextEvent() == .message(message), "server did not read the client's message \(round)")
        fuzzCheck(clientEnd.nextEvent() == .message(message), "client did not read the server's message \(round)")
    }
}

@_cdecl("FuzzDeflateParameters_main")
public func fuzzDeflateParametersMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        fuzzDeflateParameters(data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
