import CanalWebSocketCore
import FuzzSupport
import NIOHTTP1

// The server side of the opening handshake (RFC 6455 §4.2.1): the input is a request line
// and header lines, as NIOHTTP1 would have split them; the validated request is answered
// with each subprotocol it offered, and the answer must satisfy the client that sent it.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerHandshake(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = FuzzInput(start, count)
    let head = requestHead(firstLine: input.lines.first ?? "", fields: input.headerFields)
    guard WebSocketServerHandshake.isUpgradeRequest(head) || input.mode & 1 == 0 else { return 0 }
    switch WebSocketServerHandshake.validate(head) {
    case .failure(let rejection):
        fuzzCheck((400...499).contains(Int(rejection.status.code)), "rejected with \(rejection.status)")
    case .success(let request):
        for subprotocol in [nil] + request.requestedProtocols.map(Optional.some) {
            guard let response = try? WebSocketServerHandshake.acceptResponse(for: request, subprotocol: subprotocol)
            else {
                fuzzCheck(false, "an offered subprotocol was refused")
                return 0
            }
            fuzzCheck(response.status == .switchingProtocols, "status \(response.status)")
        }
        fuzzCheck(
            (try? WebSocketServerHandshake.acceptResponse(for: request, subprotocol: "\u{1}never offered")) == nil,
            "a subprotocol the client did not offer was accepted"
        )
    }
    return 0
}

/// A request head from a "METHOD target HTTP/x.y" line and header fields.
func requestHead(firstLine: String, fields: [(name: String, value: String)]) -> HTTPRequestHead {
    let parts = firstLine.split(separator: " ", maxSplits: 2).map(String.init)
    let method = HTTPMethod(rawValue: parts.first ?? "GET")
    let uri = parts.count > 1 ? parts[1] : "/"
    let version: HTTPVersion = parts.count > 2 && parts[2] == "HTTP/1.0" ? .http1_0 : .http1_1
    var headers = HTTPHeaders()
    for field in fields { headers.add(name: field.name, value: field.value) }
    return HTTPRequestHead(version: version, method: method, uri: uri, headers: headers)
}

@_cdecl("FuzzServerHandshake_main")
public func fuzzServerHandshakeMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        fuzzServerHandshake(data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
