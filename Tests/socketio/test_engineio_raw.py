"""Engine.IO v4 at the HTTP/WebSocket level, against both servers.

Where python-engineio departs from the official Node server, the departure is written next to
the check, python is held to what it does, and Canal to the official answer.
"""
import json
import threading
import time

import pytest
import requests

from rawhelp import T, Polling, sio_connect_polling, ws_only

# The official server's error bodies (engine.io lib/server.ts, Server.errorMessages).
OFFICIAL = {
    "transport": (400, {"code": 0, "message": "Transport unknown"}),
    "sid": (400, {"code": 1, "message": "Session ID unknown"}),
    "method": (400, {"code": 2, "message": "Bad handshake method"}),
    "version": (400, {"code": 5, "message": "Unsupported protocol version"}),
}
# python-engineio answers a JSON string instead of {"code","message"}.
PYTHON = {
    "transport": (400, "Invalid transport"),
    "sid": (400, "Invalid session nope"),
    "method": (400, "Invalid session None"),
    "version": (400, "The client is using an unsupported version of the Socket.IO or Engine.IO protocols"),
}
CASES = {
    "transport": ("GET", {"EIO": 4, "transport": "carrier-pigeon"}),
    "sid": ("GET", {"EIO": 4, "transport": "polling", "sid": "nope"}),
    "method": ("POST", {"EIO": 4, "transport": "polling"}),
    "version": ("GET", {"EIO": 3, "transport": "polling"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_error_codes(server, case):
    method, params = CASES[case]
    r = requests.request(method, server.url + "/socket.io/", params=params, data="" if method == "POST" else None,
                         timeout=T)
    status, body = (PYTHON if server.impl == "python" else OFFICIAL)[case]
    assert r.status_code == status
    assert r.json() == body


def test_handshake_defaults(make_server):
    s = make_server()
    hs = Polling(s).handshake
    assert set(hs) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert hs["upgrades"] == ["websocket"]
    assert (hs["pingInterval"], hs["pingTimeout"], hs["maxPayload"]) == (25000, 20000, 1000000)
    assert isinstance(hs["sid"], str) and len(hs["sid"]) >= 10


# python-engineio keeps pingInterval in whole seconds (1234 ms is announced as 1000): whole seconds here.
def test_handshake_options(make_server):
    s = make_server("--ping-interval", 2000, "--ping-timeout", 567, "--max-http-buffer-size", 4321, "--no-upgrades")
    hs = Polling(s).handshake
    assert (hs["pingInterval"], hs["pingTimeout"], hs["maxPayload"]) == (2000, 567, 4321)
    assert hs["upgrades"] == []
    w, hs2 = ws_only(s)
    w.close()
    assert hs2["upgrades"] == [] and hs2["pingInterval"] == 2000


def test_post_ok_and_packets_joined(server):
    p, ans, rest = sio_connect_polling(server)
    r = p.post("42[\"echo\",1]\x1e42[\"echo\",2]")
    assert r.status_code == 200
    # python-engineio answers "OK"; the official server answers "ok".
    assert r.text == ("OK" if server.impl == "python" else "ok")
    got = rest
    deadline = time.monotonic() + T
    while len([x for x in got if x.startswith("42[\"echo\"")]) < 2 and time.monotonic() < deadline:
        got += p.packets()
    assert [x for x in got if x.startswith("42[\"echo\"")] == ["42[\"echo\",1]", "42[\"echo\",2]"]


def test_binary_base64_in_polling(server):
    p, ans, rest = sio_connect_polling(server)
    assert p.post("42[\"binary-hello\"]").status_code == 200
    pk = [x for x in rest + p.packets() if not x.startswith("42[\"welcome\"")]
    assert pk[0].startswith("452-[\"binary\",")
    body = json.loads(pk[0][len("452-"):])
    assert body[1]["text"] == "ok"
    assert pk[1:] == ["b" + __import__("base64").b64encode(bytes(range(256))).decode(), "bAQID"]


def test_socketio_sid_is_not_engineio_sid(server):
    p, ans, rest = sio_connect_polling(server)
    assert set(ans) == {"sid"} and ans["sid"] != p.sid


def test_unknown_namespace_answer(server):
    p = Polling(server)
    p.post("40/nope,")
    assert p.packets() == ["44/nope,{\"message\":\"Invalid namespace\"}"]


def test_concurrent_gets_close_session(make_server):
    s = make_server("--ping-interval", 2000, "--ping-timeout", 1000)
    p = Polling(s)
    res = []

    def get():
        try:
            r = p.get(timeout=4)
            res.append(r.status_code)
        except requests.RequestException as e:
            res.append(repr(e))

    t1 = threading.Thread(target=get)
    t1.start()
    time.sleep(0.3)
    t2 = threading.Thread(target=get)
    t2.start()
    t1.join(6)
    t2.join(6)
    assert sorted(res) == [200, 400]
    assert p.get().status_code == 400  # the session is gone


def test_websocket_upgrade_from_polling(server):
    p = Polling(server)
    res = []
    t = threading.Thread(target=lambda: res.append(p.get(timeout=4)))
    t.start()
    time.sleep(0.2)
    w = p.ws()
    try:
        w.send("2probe")
        assert w.recv(timeout=T) == "3probe"
        t.join(5)
        assert res and res[0].status_code == 200 and res[0].text == "6"
        w.send("5")
        w.send("40")
        got = w.recv(timeout=T)
        assert got.startswith("40{\"sid\":")
    finally:
        w.close()


def test_heartbeat_no_pong_closes(make_server):
    s = make_server("--ping-interval", 300, "--ping-timeout", 300)
    p = Polling(s)
    t0 = time.monotonic()
    assert p.packets() == ["2"]
    deadline = t0 + 0.3 + 0.3 + 2.0
    while time.monotonic() < deadline:
        r = p.get(timeout=2)
        if r.status_code == 400:
            break
        time.sleep(0.05)
    assert r.status_code == 400, "session still open after interval + timeout + 2 s"


def _ws_sio(server):
    """A raw WebSocket session joined to `/`: returns (socket, its Socket.IO id)."""
    w, _ = ws_only(server)
    w.send("40")
    answer = w.recv(timeout=T)
    assert answer.startswith("40{"), answer
    return w, json.loads(answer[2:])["sid"]


def _ack(w, event, ack_id=7):
    """Emits `event` asking for an ack and returns the ack's arguments (pings answered)."""
    w.send(f'42{ack_id}["{event}"]')
    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        got = w.recv(timeout=T)
        if got == "2":
            w.send("3")
        elif got.startswith(f"43{ack_id}"):
            return json.loads(got[2 + len(str(ack_id)):])
    raise AssertionError(f"no ack for {event}")


def test_client_namespace_disconnect_reason(server):
    """A `41` that surely reached the server ends the socket with the official reason."""
    w, sid = _ws_sio(server)
    w.send("41")
    time.sleep(0.3)  # the `41` is on the wire before the transport closes
    w.close()
    other, _ = _ws_sio(server)
    try:
        deadline = time.monotonic() + T
        while time.monotonic() < deadline:
            (last,) = _ack(other, "last-disconnects")
            mine = [d["reason"] for d in last if d["id"] == sid]
            if mine:
                break
            time.sleep(0.05)
        assert mine == ["client namespace disconnect"]
    finally:
        other.close()


def test_canal_shutdown_lets_clients_reconnect():
    """Canal only (the reference server is stopped without a shutdown of its own): on
    SIGTERM a held poll gets 503 and a WebSocket closes with 1001, never an Engine.IO
    `close`, which would tell python-socketio's client not to reconnect."""
    from sioserver import Server
    from websockets.exceptions import ConnectionClosed

    s = Server("canal", "--ping-interval", 5000, "--ping-timeout", 5000).start()
    try:
        p = Polling(s)
        w, _ = ws_only(s)
        held = []
        t = threading.Thread(target=lambda: held.append(p.get(timeout=4)))
        t.start()
        time.sleep(0.3)
        s.proc.send_signal(15)
        t.join(5)
        assert held and held[0].status_code == 503, held
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                w.recv(timeout=T)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert s.proc.wait(5) == 0
    finally:
        s.stop()
