import NIOCore
import NIOHTTP1

/// A complete response from a route handler. The server adds `Content-Length`,
/// `Connection` and `Date`, and drops the body for `HEAD`.
public struct HTTPResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer = ByteBuffer())
    {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/html` page.
    public static func html(_ text: String, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        typed(text, "text/html; charset=utf-8", status)
    }

    /// A `text/plain` answer.
    public static func text(_ text: String, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        typed(text, "text/plain; charset=utf-8", status)
    }

    /// An `application/json` answer from already encoded JSON.
    public static func json(_ text: String, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        typed(text, "application/json", status)
    }

    private static func typed(_ text: String, _ type: String, _ status: HTTPResponseStatus) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        return HTTPResponse(status: status, headers: headers, body: ByteBuffer(string: text))
    }
}
