"""Graceful shutdown on SIGTERM and SIGINT: stop accepting, finish in-flight responses,
close WebSockets with 1001, exit in bounded time."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path

import pytest
import websockets

from web_support import connect, read_response, start_demo


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_closes_websockets_with_1001_and_finishes_downloads(
    site: Path, tmp_path: Path, sig: int
) -> None:
    server = start_demo(["--public", str(site), "--shutdown-timeout", "5"], tmp_path / "server.log")
    try:
        async def scenario() -> tuple[int, bytes, float]:
            ws = await websockets.connect(f"ws://127.0.0.1:{server.port}/echo")
            await ws.send("before shutdown")
            assert await ws.recv() == "before shutdown"
            # A download in flight: the client has not read the 8 MiB yet.
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port, limit=1 << 24)
            writer.write(b"GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            server.signal(sig)
            try:
                await asyncio.wait_for(ws.recv(), 5)
                raise AssertionError("the WebSocket stayed open")
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else -1
            body = await asyncio.wait_for(reader.readexactly(8 * 1024 * 1024), 10)
            rest = await asyncio.wait_for(reader.read(), 5)  # the server closes after it
            writer.close()
            return code, body + rest, time.monotonic() - started

        code, body, elapsed = asyncio.run(scenario())
        assert code == 1001
        assert body == (site / "large.bin").read_bytes()
        server.process.wait(timeout=10)
        assert server.process.returncode == 0
        assert elapsed < 6
        log = server.log()
        assert "shutting down" in log
        assert "close=1001" in log
    finally:
        server.stop()


def test_new_connections_are_refused_after_the_signal(site: Path, tmp_path: Path) -> None:
    server = start_demo(["--public", str(site), "--shutdown-timeout", "3"], tmp_path / "server.log")
    try:
        # An idle keep-alive connection must not hold the shutdown up.
        idle = connect(server.port)
        idle.sendall(b"GET /css/test.css HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(idle, bytearray()).status == 200
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        server.process.wait(timeout=10)
        assert time.monotonic() - started < 2, "an idle connection delayed the shutdown"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        idle.close()
    finally:
        server.stop()


def test_stuck_websocket_is_dropped_after_the_shutdown_timeout(site: Path, tmp_path: Path) -> None:
    server = start_demo(["--public", str(site), "--shutdown-timeout", "2"], tmp_path / "server.log")
    try:
        # A raw client that upgrades and then never answers the close frame.
        sock = connect(server.port)
        sock.sendall(
            b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 101")
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        server.process.wait(timeout=15)
        elapsed = time.monotonic() - started
        assert elapsed < 12, elapsed
        sock.close()
    finally:
        server.stop()
