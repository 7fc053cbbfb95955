import CanalHTTP
import CanalSocketIOBrowserClient
import CompressNIO
import Foundation
import NIOCore
import NIOHTTP1

/// The browser client the server hands out at `/socket.io/socket.io.js`: with an ETag
/// (304 for a page that has it), and gzip-compressed once, at start-up, for browsers that
/// accept it.
public struct SocketIOClientScript: Sendable {
    public let source: ByteBuffer
    let gzipped: ByteBuffer?
    let etag: String

    public init(source: ByteBuffer) {
        self.source = source
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in source.readableBytesView {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        etag = "\"\(String(hash, radix: 16))-\(source.readableBytes)\""
        var input = source
        gzipped = try? input.compress(with: .gzip())
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
            headers.add(name: "Cache-Control", value: "public, max-age=0, must-revalidate")
            headers.add(name: "Vary", value: "Accept-Encoding")
            let gzip = script.gzipped.flatMap { Self.acceptsGzip(request.headers) ? $0 : nil }
            // RFC 9110 §8.8.3: a compressed representation has an ETag of its own.
            let etag = gzip == nil ? script.etag : String(script.etag.dropLast()) + "-gzip\""
            headers.add(name: "ETag", value: etag)
            let tags = request.headers["If-None-Match"].flatMap { $0.split(separator: ",") }
            if tags.contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0 == "*" }) {
                return HTTPResponse(status: .notModified, headers: headers)
            }
            if let gzip {
                headers.add(name: "Content-Encoding", value: "gzip")
                return HTTPResponse(headers: headers, body: gzip)
            }
            return HTTPResponse(headers: headers, body: script.source)
        }
    }

    /// True when `Accept-Encoding` lists gzip (or `*`) with a weight above 0 (RFC 9110 §12.5.3).
    static func acceptsGzip(_ headers: HTTPHeaders) -> Bool {
        for item in headers["Accept-Encoding"].flatMap({ $0.split(separator: ",") }) {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = parts.first, coding == "gzip" || coding == "*" else { continue }
            let weight = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if weight > 0 { return true }
        }
        return false
    }
}
