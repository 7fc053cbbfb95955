"""Broadcasts, rooms and server restarts with several python-socketio clients."""
import time

import pytest
import socketio

from clienthelp import TRANSPORTS, connect, transport  # noqa: F401
from sioserver import Server, free_port


@pytest.fixture
def three(server, transport):
    clients = [connect(server, transport) for _ in range(3)]
    yield clients
    for c, _ in clients:
        c.disconnect()


def settle(recs, event, expected, timeout=5.0):
    """Wait until each recorder has its expected count, then a little more to catch extras."""
    for rec, n in zip(recs, expected):
        if n:
            rec.wait(event, count=n, timeout=timeout)
    time.sleep(0.3)
    return [len(rec.of(event)) for rec in recs]


def test_broadcast_all_and_others(three):
    (a, ra), (b, rb), (c, rc) = three
    a.emit("broadcast", {"event": "news", "args": [1, {"x": "y"}]})
    assert settle([ra, rb, rc], "news", [1, 1, 1]) == [1, 1, 1]
    assert rb.of("news") == [(1, {"x": "y"})]
    b.emit("broadcast-others", {"event": "gossip", "args": ["hi"]})
    assert settle([ra, rb, rc], "gossip", [1, 0, 1]) == [1, 0, 1]


def test_room_and_except(three):
    (a, ra), (b, rb), (c, rc) = three
    for cl in (a, b):
        cl.call("join", "red", timeout=5)
    c.call("join", "blue", timeout=5)
    b.call("join", "vip", timeout=5)
    c.emit("to-room", {"room": "red", "event": "r", "args": ["to red"]})
    assert settle([ra, rb, rc], "r", [1, 1, 0]) == [1, 1, 0]
    c.emit("to-room-except", {"room": "red", "except": "vip", "event": "rx", "args": [1]})
    assert settle([ra, rb, rc], "rx", [1, 0, 0]) == [1, 0, 0]
    # a socket id is a room too
    a.emit("to-room", {"room": c.get_sid("/"), "event": "direct", "args": []})
    assert settle([ra, rb, rc], "direct", [0, 0, 1]) == [0, 0, 1]
    b.call("leave", "red", timeout=5)
    a.emit("to-room", {"room": "red", "event": "r2", "args": []})
    assert settle([ra, rb, rc], "r2", [1, 0, 0]) == [1, 0, 0]


def test_fetch_sockets_make_join_leave(three):
    (a, ra), (b, rb), (c, rc) = three
    ids = [x.get_sid("/") for x in (a, b, c)]
    assert a.call("fetch-sockets", {"room": None}, timeout=5) == sorted(ids)
    a.call("join", "g", timeout=5)
    b.call("join", "g", timeout=5)
    assert c.call("fetch-sockets", {"room": "g"}, timeout=5) == sorted(ids[:2])
    assert c.call("fetch-sockets", {"room": "empty"}, timeout=5) == []
    assert c.call("make-join", {"room": "g", "target": "h"}, timeout=5) is True
    assert c.call("fetch-sockets", {"room": "h"}, timeout=5) == sorted(ids[:2])
    assert a.call("rooms", timeout=5) == sorted([ids[0], "g", "h"])
    assert c.call("make-leave", {"room": "h", "target": "g"}, timeout=5) is True
    assert c.call("fetch-sockets", {"room": "g"}, timeout=5) == []
    assert b.call("rooms", timeout=5) == sorted([ids[1], "h"])


def test_disconnect_room(three):
    (a, ra), (b, rb), (c, rc) = three
    reasons = {0: [], 1: [], 2: []}
    for i, (cl, _) in enumerate(three):
        cl.on("disconnect", lambda reason=None, i=i: reasons[i].append(reason))
    a.call("join", "kick", timeout=5)
    b.call("join", "kick", timeout=5)
    c.emit("disconnect-room", {"room": "kick"})
    deadline = time.monotonic() + 5
    while (not reasons[0] or not reasons[1]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert reasons[0] == [a.reason.SERVER_DISCONNECT]
    assert reasons[1] == [b.reason.SERVER_DISCONNECT]
    assert reasons[2] == [] and c.connected
    assert c.call("fetch-sockets", {"room": None}, timeout=5) == [c.get_sid("/")]


def test_ask_all(three):
    (a, ra), (b, rb), (c, rc) = three
    for i, (cl, _) in enumerate(three):
        cl.on("vote", lambda x, i=i: {"who": i, "x": x})
    a.emit("ask-all", {"event": "vote", "args": [7], "timeout_ms": 3000})
    (r,) = ra.wait("ask-all-result")[0]
    assert r["ok"] is True
    assert sorted(r["responses"], key=lambda v: v["who"]) == [{"who": i, "x": 7} for i in range(3)]


def test_emit_later(three):
    (a, ra), (b, rb), (c, rc) = three
    t0 = time.monotonic()
    a.emit("emit-later", {"event": "later", "args": ["L"], "delay_ms": 300})
    assert settle([ra, rb, rc], "later", [1, 1, 1]) == [1, 1, 1]
    assert time.monotonic() - t0 >= 0.3


def test_reconnect_after_server_restart(impl, transport):
    port = free_port()
    s = Server(impl, "--ping-interval", 500, "--ping-timeout", 500, port=port).start()
    c = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=0.5,
                        randomization_factor=0)
    connects = []
    c.on("connect", lambda: connects.append(time.monotonic()))
    try:
        c.connect(s.url, transports=TRANSPORTS[transport], wait_timeout=5)
        first = c.get_sid("/")
        s.stop()
        time.sleep(0.5)
        s = Server(impl, "--ping-interval", 500, "--ping-timeout", 500, port=port).start()
        deadline = time.monotonic() + 10
        while len(connects) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(connects) == 2, "client did not reconnect within 10 s"
        assert c.get_sid("/") != first
        assert c.call("echo-ack", "back", timeout=5) == "back"
    finally:
        c.disconnect()
        s.stop()
