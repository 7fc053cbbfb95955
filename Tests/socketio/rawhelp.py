"""Raw Engine.IO / Socket.IO over HTTP long-polling and WebSocket (requests + websockets)."""
import json

import requests
from websockets.sync.client import connect as ws_connect

T = 5  # seconds, every request


class Polling:
    def __init__(self, server):
        self.base = server.url + "/socket.io/"
        self.http = requests.Session()
        r = self.http.get(self.base, params={"EIO": 4, "transport": "polling"}, timeout=T)
        assert r.status_code == 200, r.text
        assert r.text.startswith("0"), r.text
        self.handshake = json.loads(r.text[1:])
        self.sid = self.handshake["sid"]

    def params(self):
        return {"EIO": 4, "transport": "polling", "sid": self.sid}

    def get(self, timeout=T):
        return self.http.get(self.base, params=self.params(), timeout=timeout)

    def packets(self, timeout=T):
        r = self.get(timeout)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.text.split("\x1e")

    def post(self, body, timeout=T):
        return self.http.post(self.base, params=self.params(), data=body.encode() if isinstance(body, str) else body,
                              headers={"Content-Type": "text/plain;charset=UTF-8"}, timeout=timeout)

    def ws(self):
        url = self.base.replace("http://", "ws://") + f"?EIO=4&transport=websocket&sid={self.sid}"
        return ws_connect(url, open_timeout=T, close_timeout=1)


def ws_only(server, query="EIO=4&transport=websocket"):
    url = server.url.replace("http://", "ws://") + "/socket.io/?" + query
    w = ws_connect(url, open_timeout=T, close_timeout=1)
    hs = w.recv(timeout=T)
    assert hs.startswith("0"), hs
    return w, json.loads(hs[1:])


def sio_connect_polling(server, nsp="/", auth=None):
    """Engine.IO over polling, then a Socket.IO CONNECT; returns (Polling, the 40 answer's JSON)."""
    p = Polling(server)
    body = "40" + ("" if nsp == "/" else nsp + ",") + (json.dumps(auth) if auth is not None else "")
    assert p.post(body).status_code == 200
    pk = p.packets()
    first = pk[0]
    prefix = "40" + ("" if nsp == "/" else nsp + ",")
    assert first.startswith(prefix), pk
    return p, json.loads(first[len(prefix):]), pk[1:]
