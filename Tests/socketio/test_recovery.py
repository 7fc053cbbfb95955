"""Connection state recovery, with python-socketio's client carrying the recovery fields.

python-socketio's client has no connection state recovery of its own, and the reference
server none either (CONTRACT.md), so these checks run against Canal only. The client here
does what the official client does: it keeps the private id of the CONNECT answer and the
offset that ends each event, and sends both in the auth payload when it comes back.
"""
import time

import socketio

from clienthelp import TRANSPORTS, Recorder, transport  # noqa: F401
from sioserver import Server


class RecoveringClient(socketio.Client):
    """Keeps the CONNECT answer's private id (python-socketio drops it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pid = None

    def _handle_connect(self, namespace, data):
        if isinstance(data, dict):
            self.pid = data.get("pid", self.pid)
        return super()._handle_connect(namespace, data)


def wait_for_disconnect(observer, sid, timeout=6.0):
    """Until the server reports `sid` among its last disconnections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(d["id"] == sid for d in observer.call("last-disconnects", timeout=5)):
            return
        time.sleep(0.05)
    raise AssertionError(f"the server did not see {sid} go within {timeout} s")


def test_recovery_gives_back_id_rooms_and_every_missed_event_once(transport):
    s = Server("canal", "--recovery", "--recovery-duration", 10000,
               "--ping-interval", 1000, "--ping-timeout", 1000).start()
    try:
        a = RecoveringClient(reconnection=False)
        ra = Recorder(a, ["/"])
        a.connect(s.url, transports=TRANSPORTS[transport], wait_timeout=5)
        sid = a.get_sid("/")
        assert a.pid, "the CONNECT answer carries a private id when recovery is on"
        assert sorted(a.call("join", "r", timeout=5)) == sorted([sid, "r"])

        b = socketio.Client(reconnection=False)
        b.connect(s.url, transports=TRANSPORTS[transport], wait_timeout=5)
        b.emit("to-room", {"room": "r", "event": "news", "args": [1]})
        (first,) = ra.wait("news")
        assert first[0] == 1
        offset = first[-1]
        assert isinstance(offset, str) and offset, "events carry their offset as a last argument"

        # Drop the transport the way a network does: no `41` reaches the server. Over
        # polling the server may only learn of it from the heartbeat; the session can be
        # recovered once the server has seen it go.
        a.eio.disconnect(abort=True)
        wait_for_disconnect(b, sid)
        for n in (2, 3, 4):
            b.emit("to-room", {"room": "r", "event": "news", "args": [n]})
        b.emit("broadcast", {"event": "all", "args": ["x"]})
        time.sleep(0.3)

        a2 = RecoveringClient(reconnection=False)
        ra2 = Recorder(a2, ["/"])
        a2.connect(s.url, transports=TRANSPORTS[transport], auth={"pid": a.pid, "offset": offset},
                   wait_timeout=5)
        try:
            (welcome,) = ra2.wait("welcome")[0][:1]
            assert welcome["recovered"] is True
            assert welcome["id"] == sid and a2.get_sid("/") == sid
            ra2.wait("news", count=3)
            ra2.wait("all")
            time.sleep(0.3)
            assert [args[0] for args in ra2.of("news")] == [2, 3, 4]
            assert len(ra2.of("all")) == 1
            rooms = a2.call("rooms", timeout=5)
            assert sorted(rooms) == sorted([sid, "r"])
            # The application never sees the recovery fields in auth.
            assert welcome["auth"] == {}
        finally:
            a2.disconnect()
            b.disconnect()
    finally:
        s.stop()


def test_recovery_refused_for_unknown_private_id(transport):
    s = Server("canal", "--recovery").start()
    try:
        c = RecoveringClient(reconnection=False)
        rec = Recorder(c, ["/"])
        c.connect(s.url, transports=TRANSPORTS[transport], auth={"pid": "nope", "offset": "o1"}, wait_timeout=5)
        try:
            (welcome,) = rec.wait("welcome")[0][:1]
            assert welcome["recovered"] is False
            assert c.pid and c.pid != "nope"
        finally:
            c.disconnect()
    finally:
        s.stop()


def test_recovery_expires_after_max_disconnection_duration(transport):
    s = Server("canal", "--recovery", "--recovery-duration", 500, "--ping-interval", 1000, "--ping-timeout", 1000).start()
    try:
        a = RecoveringClient(reconnection=False)
        ra = Recorder(a, ["/"])
        a.connect(s.url, transports=TRANSPORTS[transport], wait_timeout=5)
        sid = a.get_sid("/")
        a.emit("echo", "e")
        (echo,) = ra.wait("echo")
        offset = echo[-1]
        a.eio.disconnect(abort=True)
        observer = socketio.Client(reconnection=False)
        observer.connect(s.url, transports=TRANSPORTS[transport], wait_timeout=5)
        wait_for_disconnect(observer, sid)
        observer.disconnect()
        time.sleep(0.8)
        a2 = RecoveringClient(reconnection=False)
        ra2 = Recorder(a2, ["/"])
        a2.connect(s.url, transports=TRANSPORTS[transport], auth={"pid": a.pid, "offset": offset},
                   wait_timeout=5)
        try:
            (welcome,) = ra2.wait("welcome")[0][:1]
            assert welcome["recovered"] is False and welcome["id"] != sid
        finally:
            a2.disconnect()
    finally:
        s.stop()
