"""python-socketio client helpers: record events and wait for them with timeouts."""
import threading
import time

import pytest
import socketio

TRANSPORTS = {
    "polling": ["polling"],
    "websocket": ["websocket"],
    "upgrade": ["polling", "websocket"],
}


@pytest.fixture(params=list(TRANSPORTS))
def transport(request):
    return request.param


class Recorder:
    """Records every event the client gets, per namespace: (event, namespace, args)."""

    def __init__(self, client, namespaces):
        self.client = client
        self.events = []
        self.cond = threading.Condition()
        for ns in namespaces:
            client.on("*", self._catch(ns), namespace=ns)
            client.on("message", self._handler("message", ns), namespace=ns)

    def _catch(self, ns):
        def h(event, *args):
            self._add(event, ns, args)
        return h

    def _handler(self, event, ns):
        def h(*args):
            self._add(event, ns, args)
        return h

    def _add(self, event, ns, args):
        with self.cond:
            self.events.append((event, ns, args))
            self.cond.notify_all()

    def of(self, event, ns="/"):
        with self.cond:
            return [a for e, n, a in self.events if e == event and n == ns]

    def wait(self, event, count=1, timeout=5.0, ns="/"):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [a for e, n, a in self.events if e == event and n == ns]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out waiting for {count} x {event!r} on {ns}; have {self.events!r}")
                self.cond.wait(left)


def connect(server, transport, namespaces=None, auth=None, reconnection=False, **kw):
    namespaces = namespaces or ["/"]
    c = socketio.Client(reconnection=reconnection, **kw)
    rec = Recorder(c, namespaces)
    c.connect(server.url, transports=TRANSPORTS[transport], auth=auth,
              namespaces=namespaces, wait_timeout=5)
    return c, rec
