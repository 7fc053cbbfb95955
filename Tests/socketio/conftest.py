import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sioserver import IMPLEMENTATIONS, Server  # noqa: E402


@pytest.fixture(params=IMPLEMENTATIONS)
def impl(request):
    """The server implementation under test: `python` (reference) or `canal`."""
    return request.param


@pytest.fixture
def make_server(impl):
    """make_server(*options, port=0) starts a server; every one is stopped at the end."""
    started = []

    def make(*options, port=0):
        s = Server(impl, *options, port=port)
        started.append(s)
        return s.start()

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def server(make_server):
    """A server with short heartbeats (a pong may take 3 s: CI machines get busy)."""
    return make_server("--ping-interval", 1000, "--ping-timeout", 3000)
