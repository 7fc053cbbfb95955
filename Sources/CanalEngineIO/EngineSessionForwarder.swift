import CanalHTTP
import CanalWebSocket
import NIOCore
import NIOHTTP1

/// Serves the requests of sessions that live on another server of a cluster, so that a
/// load balancer in front of several servers needs no sticky sessions.
///
/// An Engine.IO session lives on the server that answered its handshake, but a plain
/// round-robin balancer sends each polling request, and the WebSocket upgrade, to any
/// server. Without a forwarder such a request gets 400 "Session ID unknown". Give one in
/// `EngineServerOptions.forwarder` (the Redis cluster module has one) and the server that a
/// request reaches, when the session is not its own, hands the request to the forwarder:
///
/// 1. `makeSessionID()` makes the ids of this server's sessions, so that every server can
///    tell a session's owner from its id alone (no look-up per request);
/// 2. `isForeign(_:)` says, without blocking, whether an id that is not open here names a
///    session of another server;
/// 3. `forward(_:sessionID:timeout:)` relays a polling GET or POST to the owner and gives
///    back its answer;
/// 4. `bridge(_:sessionID:socket:)` relays an accepted WebSocket to the owner, message by message.
///
/// A forwarded request carries `EngineServer.forwardedHeader`, and a server never forwards
/// a request that carries it: a request crosses at most one server on its way to the owner,
/// so a stale directory cannot make a loop. A single server without a forwarder pays
/// nothing: none of this runs.
public protocol EngineSessionForwarder: Sendable {
    /// The id of a new session opened on this server.
    func makeSessionID() -> String

    /// True when `sessionID`, which is not open on this server, names a session of another
    /// server. Called on an event loop for every such request: must not block.
    func isForeign(_ sessionID: String) -> Bool

    /// Relays a polling request to the session's owner and returns its answer; when the
    /// owner cannot be reached, an answer that makes the client reconnect (the session is
    /// recovered elsewhere), never a request left hanging.
    ///
    /// - Parameter timeout: how long the owner may take; a held GET is answered within the
    ///   ping interval, so the server passes `pingInterval + pingTimeout`.
    func forward(_ request: HTTPRequest, sessionID: String, timeout: TimeAmount) async -> HTTPResponse

    /// Relays a WebSocket, accepted for `sessionID`, to the owner. Called on the connection's
    /// event loop; the callback gets the connection's events there. When the owner cannot be
    /// reached, close `socket`: a client probing for an upgrade then stays on long-polling.
    func bridge(
        _ request: WebSocketUpgradeRequest, sessionID: String, socket: WebSocketLoopSocket
    ) -> WebSocketChannelHandler.EventCallback
}

extension EngineServer {
    /// Marks a request that a forwarder relayed; a server never forwards it again.
    public static let forwardedHeader = "X-Canal-Engine-Forwarded"

    /// The `sid` of a request to forward: not open here, not forwarded already, and another
    /// server's as the forwarder tells. Nil without a forwarder.
    func foreignSessionID(_ head: HTTPRequestHead) -> String? {
        guard let forwarder = options.forwarder, let id = EngineQuery(head.uri).value("sid"),
            session(id: id) == nil, !head.headers.contains(name: Self.forwardedHeader), forwarder.isForeign(id)
        else { return nil }
        return id
    }
}
