"""CanalSocketIOClient against scripted servers (fake_server.py): custom headers on every
request; and servers that misbehave, where every case ends with a clear error in bounded
time, never a crash or a hang."""
import time

import pytest

from fake_server import FakeServer

MODES = ["polling", "websocket"]


@pytest.fixture
def fake():
    started = []

    def make(scenario):
        server = FakeServer(scenario).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def still_alive(c):
    """The client process still answers (no crash, no deadlock)."""
    c.send("status", socket="s")
    c.wait("status", timeout=5)


@pytest.mark.parametrize("mode", MODES)
def test_fake_server_that_behaves_works(fake, client, mode):
    server = fake("echo")
    c = client()
    c.manager(server.url, mode)
    c.socket()
    assert c.wait("connected", socket="s")["id"] == "fake-socket"
    c.emit("s", "hello", 1)
    assert c.event("hello") == [1]


@pytest.mark.parametrize("mode", MODES)
def test_connect_never_answered_times_out(fake, client, mode):
    server = fake("silent")
    c = client()
    c.manager(server.url, mode, connect_timeout_ms=800)
    c.socket()
    t0 = time.monotonic()
    error = c.wait("connect_error", socket="s", timeout=10)
    assert error["kind"] == "timeout" and error["will_retry"] is False
    assert "did not answer the CONNECT" in error["message"]
    assert 0.7 < time.monotonic() - t0 < 5
    still_alive(c)


@pytest.mark.parametrize("mode", MODES)
def test_malformed_answer_to_connect_is_parse_error(fake, client, mode):
    server = fake("malformed-connect")
    c = client()
    c.manager(server.url, mode)
    c.socket()
    error = c.wait("connect_error", socket="s")
    assert error["kind"] == "connectionFailed" and error["will_retry"] is False
    assert "parse error" in error["message"] and "not Socket.IO" in error["message"]
    still_alive(c)


@pytest.mark.parametrize("mode", MODES)
def test_malformed_packet_after_connect_disconnects_with_parse_error(fake, client, mode):
    server = fake("malformed-event")
    c = client()
    c.manager(server.url, mode)
    c.socket()
    c.wait("connected", socket="s")
    gone = c.wait("disconnected", socket="s")
    assert gone["reason"] == "parse error" and gone["will_reconnect"] is False
    assert "unknown packet type" in gone["detail"]
    still_alive(c)


@pytest.mark.parametrize("mode", MODES)
def test_server_not_speaking_engineio_is_refused_clearly(fake, client, mode):
    server = fake("not-engineio")
    c = client()
    c.manager(server.url, "polling")
    c.socket()
    error = c.wait("connect_error", socket="s")
    assert error["kind"] == "connectionFailed"
    assert "does not speak Socket.IO" in error["message"]


def test_server_dropping_everything_mid_upgrade_ends_with_transport_error(fake, client):
    server = fake("drop-upgrade")
    c = client()
    c.manager(server.url, "upgrade")
    c.socket()
    # The CONNECT may or may not be answered before the drop: either way the end is clear.
    t0 = time.monotonic()
    line = None
    while line is None and time.monotonic() - t0 < 10:
        ends = c.all("connect_error", socket="s") + c.all("disconnected", socket="s")
        line = ends[0] if ends else None
        time.sleep(0.05)
    assert line is not None, f"no end within 10 s: {c.lines}"
    if line["type"] == "disconnected":
        assert line["reason"] == "transport error" and line["will_reconnect"] is False
    else:
        assert line["kind"] == "connectionFailed"
    assert not c.all("upgraded")
    still_alive(c)


def test_bad_probe_answer_keeps_session_on_polling(fake, client):
    server = fake("bad-probe")
    c = client()
    c.manager(server.url, "upgrade")
    c.socket()
    c.wait("connected", socket="s")
    time.sleep(0.5)
    c.emit("s", "still", "polling")
    assert c.event("still") == ["polling"]
    assert not c.all("upgraded")


@pytest.mark.parametrize("mode", ["polling", "websocket", "upgrade"])
def test_custom_headers_and_url_credentials_go_with_every_request(fake, client, mode):
    server = fake("bad-probe" if mode == "upgrade" else "echo")
    c = client()
    url = server.url.replace("http://", "http://user:secret@")
    c.manager(url, mode, headers={"X-Canal-Test": "yes", "Cookie": "io=1"})
    c.socket()
    c.wait("connected", socket="s")
    c.emit("s", "ping-me")
    c.event("ping-me")
    if mode == "upgrade":
        deadline = time.monotonic() + 5
        while not any(t == "websocket" for _, t, _ in server.requests) and time.monotonic() < deadline:
            time.sleep(0.05)
    kinds = {(method, transport) for method, transport, _ in server.requests}
    expected = {"polling": {("GET", "polling"), ("POST", "polling")}, "websocket": {("GET", "websocket")},
                "upgrade": {("GET", "polling"), ("POST", "polling"), ("GET", "websocket")}}[mode]
    assert expected <= kinds
    for _, _, headers in server.requests:
        assert headers.get("X-Canal-Test") == "yes" and headers.get("Cookie") == "io=1"
        assert headers.get("Authorization") == "Basic dXNlcjpzZWNyZXQ="


@pytest.mark.parametrize("mode", ["polling", "websocket"])
def test_namespaces_share_one_engineio_session(fake, client, mode):
    server = fake("echo")
    c = client()
    c.manager(server.url, mode)
    c.socket(id="main")
    c.socket(id="admin", namespace="/admin", auth={"role": "admin"})
    c.wait("connected", socket="main")
    c.wait("connected", socket="admin")
    assert len(server.sessions) == 1
    assert '40/admin,{"role":"admin"}' in server.received
