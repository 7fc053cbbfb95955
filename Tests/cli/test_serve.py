"""`canal serve`: the demo site (pages, static files and the WebSocket echo on one port)
and `--echo-only`, checked with python `websockets` and `http.client`."""

from __future__ import annotations

import asyncio
import http.client
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from cli_support import START_TIMEOUT, canal_path, child_env


def start(start_canal, *args: str) -> tuple[object, int]:
    process = start_canal("serve", "--host", "127.0.0.1", "--port", "0", *args)
    match = process.expect_stdout(r"listening on (?:https?|wss?)://127\.0\.0\.1:(\d+)/", timeout=START_TIMEOUT)
    return process, int(match.group(1))


def http_get(port: int, path: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


async def echo_once(url: str, text: str) -> str:
    async with websockets.connect(url, open_timeout=10, close_timeout=5) as ws:
        await ws.send(text)
        return await asyncio.wait_for(ws.recv(), 10)


def test_default_is_the_demo_site_with_the_echo_on_the_same_port(start_canal):
    server, port = start(start_canal)
    server.expect_stdout(rf"the WebSocket echo is at ws://127\.0\.0\.1:{port}/echo$")
    status, content_type, body = http_get(port, "/")
    assert status == 200 and content_type.startswith("text/html"), (status, content_type)
    assert b'href="/echo.html"' in body and b'href="/test.html"' in body
    status, content_type, _ = http_get(port, "/css/site.css")
    assert (status, content_type) == (200, "text/css; charset=utf-8")
    status, content_type, _ = http_get(port, "/img/waves.png")
    assert (status, content_type) == (200, "image/png")
    assert http_get(port, "/no-such-page")[0] == 404
    for path in ("/echo", "/"):
        assert asyncio.run(echo_once(f"ws://127.0.0.1:{port}{path}", f"hello {path}")) == f"hello {path}"
    # One access-log line per request, on stderr.
    server.expect_stderr(r'"GET /img/waves\.png HTTP/1\.1" 200 ')


def test_public_serves_another_folder(start_canal, tmp_path: Path):
    (tmp_path / "index.html").write_text("<h1>mine</h1>")
    (tmp_path / "data.json").write_text('{"a": 1}')
    _, port = start(start_canal, "--public", str(tmp_path))
    status, content_type, body = http_get(port, "/data.json")
    assert (status, content_type, body) == (200, "application/json", b'{"a": 1}')
    # The welcome route stays; the folder's index is served at its own name.
    assert http_get(port, "/index.html")[2] == b"<h1>mine</h1>"


@pytest.mark.parametrize("handler", [[], ["--async"]], ids=["event-loop", "async"])
def test_echo_only_echoes_at_every_path_and_refuses_plain_http(start_canal, handler):
    server, port = start(start_canal, "--echo-only", *handler)
    server.expect_stdout(rf"^Try it: canal -c ws://127\.0\.0\.1:{port}/ ")
    status, _, body = http_get(port, "/")
    assert status == 404 and body == b"Not Found\n"
    assert asyncio.run(echo_once(f"ws://127.0.0.1:{port}/any/path?x=1", "é ✓")) == "é ✓"


@pytest.mark.parametrize(
    "mode", [[], ["--echo-only"], ["--echo-only", "--async"]], ids=["site", "echo-only", "echo-only-async"]
)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_closes_websockets_with_1001_and_exits(start_canal, mode, sig):
    server, port = start(start_canal, *mode)

    async def scenario() -> int:
        async with websockets.connect(f"ws://127.0.0.1:{port}/echo", open_timeout=10) as ws:
            await ws.send("before")
            assert await asyncio.wait_for(ws.recv(), 10) == "before"
            server.proc.send_signal(sig)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 15)
            return closed.value.rcvd.code if closed.value.rcvd else -1

    assert asyncio.run(scenario()) == 1001
    assert server.wait(20) == 0, server


def test_without_bundled_pages_it_asks_for_a_folder(tmp_path: Path):
    # A binary copied on its own has no demo pages beside it: a clear error, not a crash.
    lonely = tmp_path / "canal"
    shutil.copy2(canal_path(), lonely)
    result = subprocess.run(
        [str(lonely), "serve", "--port", "0"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, env=child_env(),
    )
    assert result.returncode == 1, result
    assert "pass a folder with --public" in result.stderr, result.stderr
    # The echo needs no pages.
    process = subprocess.Popen(
        [str(lonely), "serve", "--echo-only", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=child_env(),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert line.startswith("Canal echo server listening on ws://127.0.0.1:"), line
    finally:
        process.kill()
        process.wait(10)
