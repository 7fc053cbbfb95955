"""CanalSocketIOClient against python-socketio's server and Canal's (Tests/socketio/CONTRACT.md),
with polling only, WebSocket only, and polling upgraded to WebSocket."""
import time

import pytest

from sioclient_support import Server, TcpProxy, binary_value, free_port

JSON = {"text": "héllo — 日本語 😀 \"q\" \\ \n", "n": [1, -2.5, 2**53 + 1, None, True], "deep": {"a": [{"b": []}]}}


# python-engineio writes pingInterval in whole seconds (0.5 s becomes 0): the python server
# gets whole seconds here.


def connect(client, server_url, mode, namespace=None, auth=None, socket="s", manager="m", **options):
    client.manager(server_url, mode, id=manager, **options)
    client.socket(id=socket, manager=manager, namespace=namespace, auth=auth)
    connected = client.wait("connected", socket=socket)
    if mode == "upgrade":
        assert client.wait("upgraded", socket=socket)["transport"] == "websocket"
    return connected


def test_connect_with_auth_gets_welcome(server, client, mode):
    c = client()
    auth = {"token": "t-1", "n": 3, "nested": {"x": [1, 2]}}
    info = connect(c, server.url, mode, auth=auth)
    (welcome,) = c.event("welcome")
    assert welcome == {"id": info["id"], "nsp": "/", "auth": auth, "recovered": False}
    assert info["recovered"] is False
    # With the upgrade, the CONNECT answer may come before or after the switch.
    assert info["transport"] in {"polling": ["polling"], "websocket": ["websocket"],
                                 "upgrade": ["polling", "websocket"]}[mode]
    c.send("status", socket="s")
    assert c.wait("status")["connected"] is True


def test_refusal_carries_data(server, client, mode):
    c = client()
    c.manager(server.url, mode)
    c.socket(auth={"token": "reject"})
    error = c.wait("connect_error", socket="s")
    assert error["kind"] == "refused"
    assert error["message"] == "not authorized"
    assert error["data"] == {"reason": "bad token", "code": 4001}
    assert error["will_retry"] is False


def test_namespaces_multiplexed_on_one_connection(server, client, mode):
    c = client()
    connect(c, server.url, mode)
    c.socket(id="admin", namespace="/admin", auth={"role": "admin"})
    c.socket(id="dyn", namespace="/dyn-abc1", auth={})
    c.socket(id="nope", namespace="/nope", auth={})
    assert c.event("welcome", socket="admin")[0]["nsp"] == "/admin"
    assert c.event("welcome", socket="dyn")[0]["nsp"] == "/dyn-abc1"
    refused = c.wait("connect_error", socket="nope")
    assert (refused["kind"], refused["message"]) == ("refused", "Invalid namespace")
    # Each namespace answers on its own socket.
    assert c.call("admin", "echo-ack", "from admin")["args"] == ["from admin"]
    assert c.call("s", "echo-ack", "from main")["args"] == ["from main"]
    # Another manager, without the role: refused with the role it sent.
    c.manager(server.url, mode, id="m2")
    c.socket(id="guest", manager="m2", namespace="/admin", auth={"role": "guest"})
    refused = c.wait("connect_error", socket="guest")
    assert (refused["message"], refused["data"]) == ("admin only", {"role": "guest"})


def test_json_and_binary_events_both_ways(server, client, mode):
    c = client()
    connect(c, server.url, mode)
    c.emit("s", "echo", JSON, "two", 3)
    assert c.event("echo") == [JSON, "two", 3]
    blob = bytes(range(256)) * 3
    c.emit("s", "echo", {"file": binary_value(blob), "parts": [binary_value(b""), binary_value(b"\x00")]}, "x")
    assert c.event("echo") == [
        {"file": binary_value(blob), "parts": [binary_value(b""), binary_value(b"\x00")]}, "x"]
    c.emit("s", "binary-hello")
    (value,) = c.event("binary")
    assert value == {"all": binary_value(bytes(range(256))), "nested": [{"b": binary_value(b"\x01\x02\x03")}],
                     "text": "ok"}
    c.emit("s", "message", "plain")
    assert c.event("message") == ["plain"]


def test_acks_both_ways(server, client, mode):
    c = client()
    connect(c, server.url, mode)
    # Client -> server, answered; binary in the answer.
    answer = c.call("s", "echo-ack", {"k": [1]}, binary_value(b"\xff"), timeout_ms=5000)
    assert answer["ok"] is True and answer["args"] == [{"k": [1]}, binary_value(b"\xff")]
    # Server -> client: the client answers what the server asks.
    c.send("answer", socket="s", event="question", reply=["yes", {"n": 1}])
    c.emit("s", "ask", {"event": "question", "args": [1, 2], "timeout_ms": 3000})
    assert c.event("question") == [1, 2]
    assert c.event("ask-result") == [{"ok": True, "response": ["yes", {"n": 1}]}]
    # Server -> client, never answered: the server's timeout.
    c.send("answer", socket="s", event="silent", reply=None)
    c.emit("s", "ask", {"event": "silent", "args": [], "timeout_ms": 300})
    assert c.event("ask-result") == [{"ok": False, "error": "timeout"}]


def test_ack_timeout_when_nothing_comes_back(impl, make_server, client, mode):
    server = make_server("--ping-interval", 5000, "--ping-timeout", 5000)
    proxy = TcpProxy(server.port).start()
    try:
        c = client()
        connect(c, proxy.url, mode)
        proxy.stall()
        t0 = time.monotonic()
        answer = c.call("s", "echo-ack", "lost", timeout_ms=400)
        assert answer["ok"] is False and answer["kind"] == "ackTimeout"
        assert 0.35 < time.monotonic() - t0 < 4
    finally:
        proxy.stop()


def test_broadcast_reaches_every_client(server, client, mode):
    c = client()
    connect(c, server.url, mode, socket="a", manager="ma")
    connect(c, server.url, mode, socket="b", manager="mb")
    c.emit("a", "broadcast", {"event": "news", "args": ["all", {"n": 1}]})
    assert c.event("news", socket="a") == ["all", {"n": 1}]
    assert c.event("news", socket="b") == ["all", {"n": 1}]
    c.emit("a", "broadcast-others", {"event": "gossip", "args": ["others"]})
    assert c.event("gossip", socket="b") == ["others"]
    c.call("a", "echo-ack", "sync")  # anything for a would have come before this answer
    assert not c.all("event", socket="a", name="gossip")


def test_reconnects_after_server_restart_and_flushes_bounded_offline_buffer(impl, client, mode):
    port = free_port()
    server = Server(impl, "--ping-interval", 1000, "--ping-timeout", 1000, port=port).start()
    try:
        c = client()
        first = connect(c, server.url, mode, reconnection=True, delay_ms=200, max_delay_ms=400,
                        randomization=0, offline_max=3)
        server.stop()
        gone = c.wait("disconnected", socket="s")
        assert gone["reason"] in ("transport close", "transport error", "ping timeout")
        assert gone["will_reconnect"] is True
        for index in range(1, 6):
            c.emit("s", "echo", f"queued {index}")
        dropped = c.settle("dropped", 2, socket="s")
        assert [d["args"] for d in dropped] == [["queued 4"], ["queued 5"]]
        assert {d["reason"] for d in dropped} == {"offline buffer full"}
        assert c.wait("reconnecting", socket="s")["attempt"] >= 1
        server = Server(impl, "--ping-interval", 1000, "--ping-timeout", 1000, port=port).start()
        again = c.wait("connected", socket="s", timeout=15)
        assert again["id"] != first["id"] and again["recovered"] is False
        echoes = [c.event("echo") for _ in range(3)]
        assert echoes == [["queued 1"], ["queued 2"], ["queued 3"]]
        c.send("status", socket="s")
        assert c.wait("status")["dropped"] == 2
        assert c.call("s", "echo-ack", "after")["args"] == ["after"]
    finally:
        server.stop()


def test_volatile_emit_is_dropped_while_disconnected(impl, client, mode):
    port = free_port()
    server = Server(impl, "--ping-interval", 1000, "--ping-timeout", 1000, port=port).start()
    try:
        c = client()
        connect(c, server.url, mode, reconnection=True, delay_ms=5000, randomization=0)
        c.emit("s", "echo", "volatile while up", volatile=True)
        assert c.event("echo") == ["volatile while up"]
        server.stop()
        c.wait("disconnected", socket="s")
        c.emit("s", "echo", "volatile while down", volatile=True)
        dropped = c.wait("dropped", socket="s")
        assert (dropped["reason"], dropped["args"]) == ("volatile", ["volatile while down"])
    finally:
        server.stop()


def test_server_disconnect_is_final(server, client, mode):
    c = client()
    connect(c, server.url, mode, reconnection=True, delay_ms=100)
    c.emit("s", "disconnect-me")
    gone = c.wait("disconnected", socket="s")
    assert (gone["reason"], gone["will_reconnect"]) == ("io server disconnect", False)
    time.sleep(0.5)
    assert len(c.all("connected", socket="s")) == 1


@pytest.mark.parametrize("impl", ["canal"])  # python-socketio has no connection state recovery
def test_recovers_missed_events_after_connection_loss(impl, make_server, client, mode):
    server = make_server("--recovery", "--ping-interval", 1000, "--ping-timeout", 1000)
    proxy = TcpProxy(server.port).start()
    try:
        c = client()
        first = connect(c, proxy.url, mode, reconnection=True, delay_ms=300, max_delay_ms=300, randomization=0)
        assert first["pid"]
        c.emit("s", "echo", "x", 2)
        echoed = c.wait("event", socket="s", name="echo")
        assert echoed["args"] == ["x", 2] and echoed["offset"]  # the server's offset is not an argument
        assert c.call("s", "join", "r")["ok"] is True
        connect(c, server.url, "websocket", socket="other", manager="mo")
        proxy.cut()
        gone = c.wait("disconnected", socket="s")
        assert gone["will_reconnect"] is True
        c.emit("other", "to-room", {"room": "r", "event": "missed", "args": ["while away", 42]})
        c.call("other", "echo-ack", "sync")
        # Away long enough for the server to notice (a dropped long-poll may only show at its
        # ping timeout); the client's attempts meanwhile are refused by the proxy.
        time.sleep(2.5)
        proxy.restore()
        again = c.wait("connected", socket="s", timeout=15)
        assert again["recovered"] is True and again["id"] == first["id"]
        assert c.event("missed") == ["while away", 42]
        # Still in its room after recovery.
        assert "r" in c.call("s", "rooms")["args"][0]
    finally:
        proxy.stop()
