"""Canal serves our browser client at /socket.io/socket.io.js (the reference has none)."""
import gzip
import os

import requests

from sioserver import Server

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT = os.path.join(REPO, "Clients", "js", "socket.io.js")


def test_client_script_is_served_with_type_etag_and_gzip():
    source = open(CLIENT, "rb").read()
    with Server("canal") as s:
        url = s.url + "/socket.io/socket.io.js"
        plain = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=5)
        assert plain.status_code == 200
        assert plain.headers["Content-Type"].startswith("application/javascript")
        assert "Content-Encoding" not in plain.headers
        assert plain.content == source
        etag = plain.headers["ETag"]
        assert requests.get(url, headers={"Accept-Encoding": "identity", "If-None-Match": etag},
                            timeout=5).status_code == 304

        raw = requests.get(url, headers={"Accept-Encoding": "gzip, deflate"}, stream=True, timeout=5)
        assert raw.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in raw.headers["Vary"]
        body = raw.raw.read(decode_content=False)
        assert len(body) < len(source) / 2
        assert gzip.decompress(body) == source
        assert raw.headers["ETag"] != etag, "the gzip representation has an ETag of its own"
        assert requests.get(url, headers={"Accept-Encoding": "gzip;q=0"}, timeout=5).headers.get(
            "Content-Encoding") is None


def test_serve_client_off_leaves_the_path_unanswered():
    with Server("canal", "--no-serve-client") as s:
        assert requests.get(s.url + "/socket.io/socket.io.js", timeout=5).status_code == 404
