import CanalHTTP
import CanalSocketIOBrowserClient
import NIOCore
import NIOHTTP1

/// The browser client the server hands out at `/socket.io/socket.io.js`.
public struct SocketIOClientScript: Sendable {
    public let source: ByteBuffer
    let etag: String

    public init(source: ByteBuffer) {
        self.source = source
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in source.readableBytesView {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        etag = "\"\(String(hash, radix: 16))-\(source.readableBytes)\""
    }

    /// Our client, read once from the resource bundle; nil when the bundle is missing.
    public static let bundled: SocketIOClientScript? = BundledClient.source.map {
        SocketIOClientScript(source: ByteBuffer(bytes: $0))
    }

    func install(on router: inout HTTPRouter, path: String) {
        let script = self
        router.get(path) { request in
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/javascript; charset=utf-8")
            headers.add(name: "ETag", value: script.etag)
            headers.add(name: "Cache-Control", value: "public, max-age=0, must-revalidate")
            if request.headers["If-None-Match"].contains(where: { $0 == script.etag || $0 == "*" }) {
                return HTTPResponse(status: .notModified, headers: headers)
            }
            return HTTPResponse(headers: headers, body: script.source)
        }
    }
}
