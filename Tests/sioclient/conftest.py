"""Fixtures for the Swift Socket.IO client suite. See sioclient_support.py."""
import pytest

from sioclient_support import Server, SwiftClient, bin_dir

IMPLEMENTATIONS = ("python", "canal")


def pytest_report_header(config):
    return [f"canal binaries: {bin_dir()}"]


@pytest.fixture(params=IMPLEMENTATIONS)
def impl(request):
    """The server: `python` (python-socketio, the reference) or `canal`."""
    return request.param


@pytest.fixture(params=["polling", "websocket", "upgrade"])
def mode(request):
    """The client's transports: polling only, WebSocket only, or polling then the upgrade."""
    return request.param


@pytest.fixture
def make_server(impl):
    started = []

    def make(*options, port=0):
        server = Server(impl, *options, port=port)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server):
    return make_server("--ping-interval", 1000, "--ping-timeout", 1000)


@pytest.fixture
def client():
    """Factory: client() starts a canal-sio-testclient; all are stopped at teardown."""
    started = []

    def make():
        c = SwiftClient()
        started.append(c)
        return c

    yield make
    for c in started:
        c.close()
