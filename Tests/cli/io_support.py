"""Peers for the `canal io` tests: the Socket.IO contract servers of Tests/socketio
(python-socketio's reference and Canal's), the misbehaving server and the TCP proxy of
Tests/sioclient."""
from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for folder in ("socketio", "sioclient"):
    path = str(TESTS / folder)
    if path not in sys.path:
        sys.path.insert(0, path)

from fake_server import FakeServer  # noqa: E402,F401
from sioclient_support import TcpProxy  # noqa: E402,F401
from sioserver import Server, free_port  # noqa: E402,F401
