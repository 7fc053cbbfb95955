"""WebSocket upgrades on the same port as the pages, with python websockets."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from web_support import DemoServer, get, raw_request


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 15))


@pytest.mark.parametrize("path", ["/echo", "/"])
def test_echo_on_each_websocket_path(server: DemoServer, path: str) -> None:
    async def scenario() -> list:
        async with websockets.connect(f"ws://127.0.0.1:{server.port}{path}") as ws:
            replies = []
            for message in ["Hello from python", "Message number 1", b"\x00\x01binary"]:
                await ws.send(message)
                replies.append(await ws.recv())
            return replies

    assert run(scenario()) == ["Hello from python", "Message number 1", b"\x00\x01binary"]


def test_pages_and_websocket_share_one_port(server: DemoServer) -> None:
    # A plain GET on the WebSocket path "/" is the welcome page; an upgrade is the echo.
    assert get(server.port, "/").status == 200

    async def scenario() -> str:
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/") as ws:
            await ws.send("same port")
            return await ws.recv()

    assert run(scenario()) == "same port"


def test_origin_of_this_server_is_accepted(server: DemoServer) -> None:
    async def scenario() -> str:
        origin = f"http://127.0.0.1:{server.port}"
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/echo", origin=origin) as ws:
            await ws.send("from my own page")
            return await ws.recv()

    assert run(scenario()) == "from my own page"


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_foreign_origin_is_refused_with_403(server: DemoServer, origin: str) -> None:
    async def scenario() -> int:
        try:
            async with websockets.connect(f"ws://127.0.0.1:{server.port}/echo", origin=origin):
                return 101
        except InvalidStatus as error:
            return error.response.status_code

    assert run(scenario()) == 403


def test_upgrade_request_for_a_page_is_served_as_http(server: DemoServer) -> None:
    response = raw_request(
        server.port,
        b"GET /test.html HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_invalid_upgrade_is_refused(server: DemoServer) -> None:
    response = raw_request(
        server.port,
        b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    assert response.status == 426
    assert response.headers["sec-websocket-version"] == "13"


def test_upgrade_after_keep_alive_requests_on_one_connection(server: DemoServer) -> None:
    # Two HTTP requests and then the upgrade, all on one connection.
    async def scenario() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"GET /css/test.css HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            # A masked text frame "hi" right behind the request.
            + bytes([0x81, 0x82, 1, 2, 3, 4, ord("h") ^ 1, ord("i") ^ 2])
        )
        received = b""
        while b"\x81\x02hi" not in received:
            chunk = await reader.read(65536)
            if not chunk:
                break
            received += chunk
        writer.close()
        return received

    received = run(scenario())
    assert received.count(b"HTTP/1.1 200 OK") == 1
    assert b"HTTP/1.1 404 Not Found" in received
    assert b"HTTP/1.1 101 Switching Protocols" in received
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in received
    assert received.endswith(b"\x81\x02hi")


def test_websocket_session_is_logged(server: DemoServer) -> None:
    async def scenario() -> None:
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/echo?log-marker") as ws:
            await ws.send("x")
            await ws.recv()

    run(scenario())
    server.wait_for_log(r'"GET /echo\?log-marker HTTP/1\.1" 101 websocket [\d.]+s close=1000 "Python')
