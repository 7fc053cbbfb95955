import CanalWebSocketCore
import FuzzSupport
import NIOHTTP1

// The client side of the opening handshake (RFC 6455 §4.1): the input is a status line and
// header lines answering a request that offered two subprotocols and permessage-deflate;
// its first line is also parsed as a ws:// URL.

let handshake = WebSocketClientHandshake(
    url: WebSocketURL(isSecure: false, host: "example.com", port: 80, requestTarget: "/chat"),
    key: "dGhlIHNhbXBsZSBub25jZQ==",
    protocols: ["chat", "superchat"],
    extensionOffers: [WebSocketExtensionOffer(name: "permessage-deflate", parameters: [])]
)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientHandshake(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = FuzzInput(start, count)
    let lines = input.lines
    if let url = try? WebSocketURL(parsing: lines.first ?? "") {
        // What we print must read back the same, but for the credentials, which the
        // description leaves out on purpose (they become an Authorization header).
        var printable = url
        printable.userInfo = nil
        fuzzCheck((try? WebSocketURL(parsing: url.description)) == printable, "\(url) does not round-trip")
        _ = WebSocketClientHandshake(url: url).requestHead
    }
    let status = (lines.first ?? "").split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 101
    var headers = HTTPHeaders()
    for field in input.headerFields { headers.add(name: field.name, value: field.value) }
    let response = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
    if case .success(let negotiated) = handshake.validate(response) {
        fuzzCheck(status == 101, "accepted a \(status)")
        if let subprotocol = negotiated.subprotocol {
            fuzzCheck(handshake.protocols.contains(subprotocol), "accepted an unoffered subprotocol \(subprotocol)")
        }
        fuzzCheck(
            negotiated.extensions.allSatisfy { $0.name.lowercased() == "permessage-deflate" },
            "accepted an unoffered extension"
        )
    }
    return 0
}

@_cdecl("FuzzClientHandshake_main")
public func fuzzClientHandshakeMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        fuzzClientHandshake(data.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)!, size)
    }
}
