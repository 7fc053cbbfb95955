"""`canal serve` (our server) against python `websockets` and raw sockets.

Each test starts its own `canal serve --host 127.0.0.1 --port 0` (see
conftest.py) and bounds its whole body with `run_async(..., timeout)`.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from canal_interop import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    build_frame,
    close_payload,
    close_writer,
    open_tcp,
    raw_handshake,
    read_frame,
    read_http_response,
    read_until_eof,
    run_async,
    sha256_hex,
    upgrade_request,
)

pytestmark = pytest.mark.needs_binaries("canal")

MiB = 1024 * 1024
BIG = 16 * MiB


def ws_connect(server, *, compression: str | None = None, max_size: int | None = 2 * MiB,
               close_timeout: float = 10, **kwargs: Any):
    """A python-websockets client for `server`. Keepalive pings off, so only
    the pings a test sends are on the wire."""
    return connect(
        server.url,
        compression=compression,
        max_size=max_size,
        open_timeout=15,
        close_timeout=close_timeout,
        ping_interval=None,
        **kwargs,
    )


async def recv(ws, timeout: float = 15.0):
    return await asyncio.wait_for(ws.recv(), timeout)


def close_code_received(ws) -> int | None:
    frame = ws.protocol.close_rcvd
    return None if frame is None else frame.code


# python-websockets' default ("deflate") offers permessage-deflate; the server
# may decline it, and the exchange must work either way.
COMPRESSION = pytest.mark.parametrize("compression", [None, "deflate"], ids=["plain", "offer-deflate"])


# --------------------------------------------------------------------------
# Echo of data messages
# --------------------------------------------------------------------------


@COMPRESSION
def test_text_echo(canal_server, compression):
    async def body():
        async with ws_connect(canal_server, compression=compression) as ws:
            for msg in ["hello", "a" * 125, "b" * 126, "c" * 65535, "d" * 65536, "e" * 100_000]:
                await ws.send(msg)
                echoed = await recv(ws)
                assert isinstance(echoed, str), f"text came back as {type(echoed)}"
                assert echoed == msg
            await ws.close()
            assert close_code_received(ws) == 1000

    run_async(body(), 60)


@COMPRESSION
def test_binary_echo(canal_server, compression):
    async def body():
        async with ws_connect(canal_server, compression=compression) as ws:
            for msg in [b"\x00\x01\x02\xff", bytes(range(256)) * 4, os.urandom(70_000)]:
                await ws.send(msg)
                echoed = await recv(ws)
                assert isinstance(echoed, bytes), f"binary came back as {type(echoed)}"
                assert echoed == msg

    run_async(body(), 60)


def test_empty_messages(canal_server):
    async def body():
        async with ws_connect(canal_server) as ws:
            await ws.send("")
            assert await recv(ws) == ""
            await ws.send(b"")
            echoed = await recv(ws)
            assert echoed == b"" and isinstance(echoed, bytes)

    run_async(body(), 30)


@COMPRESSION
def test_unicode_text_echo(canal_server, compression):
    samples = [
        "héllo wörld",
        "κόσμε",
        "漢字かなカナ한국어",
        "emoji 🎉🚀👩‍💻 and astral 𝄞 𐍈",
        "\u0000 NUL, \u007f DEL, \u0080, \u07ff, \u0800, \ufffd, \uffff, \U00010000, \U0010ffff",
        "mixed " + "é漢🎉" * 10_000,
    ]

    async def body():
        async with ws_connect(canal_server, compression=compression) as ws:
            for msg in samples:
                await ws.send(msg)
                assert await recv(ws) == msg

    run_async(body(), 30)


@COMPRESSION
def test_fragmented_messages(canal_server, compression):
    async def agen(parts):
        for p in parts:
            await asyncio.sleep(0)
            yield p

    async def body():
        async with ws_connect(canal_server, compression=compression) as ws:
            text_parts = ["Hel", "lo ", "wö", "rld ", "🎉"]
            await ws.send(text_parts)  # iterable -> one fragmented message
            assert await recv(ws) == "".join(text_parts)

            bin_parts = [b"\x01\x02", b"", b"\x03", os.urandom(5000)]
            await ws.send(bin_parts)
            assert await recv(ws) == b"".join(bin_parts)

            await ws.send(agen(["async ", "iterable ", "text"]))
            assert await recv(ws) == "async iterable text"

            await ws.send(agen([b"\xde\xad", b"\xbe\xef"]))
            assert await recv(ws) == b"\xde\xad\xbe\xef"

            many = [f"{i:03d}," for i in range(100)]
            await ws.send(many)
            assert await recv(ws) == "".join(many)

            # A message sent after fragmented ones still echoes normally.
            await ws.send("after")
            assert await recv(ws) == "after"

    run_async(body(), 60)


def test_fragmented_interleaved_with_ping(canal_server):
    """A control frame between the fragments of a data message (RFC 6455 5.4)."""

    async def body():
        reader, writer = await raw_handshake(canal_server.port)
        try:
            writer.write(build_frame(OP_TEXT, b"frag", fin=False))
            writer.write(build_frame(OP_PING, b"in-between"))
            writer.write(build_frame(OP_CONT, "mented ✓".encode(), fin=True))
            await writer.drain()
            pongs, text, started, complete = [], b"", False, False
            while not (pongs and complete):
                f = await read_frame(reader)
                assert not f.masked, f"server frame is masked: {f!r}"
                if f.opcode == OP_PONG:
                    pongs.append(f.payload)
                elif f.opcode in (OP_TEXT, OP_CONT) and not complete:
                    assert (f.opcode == OP_TEXT) == (not started), f
                    started = True
                    text += f.payload
                    complete = f.fin
                else:
                    pytest.fail(f"unexpected frame {f!r}")
            assert pongs == [b"in-between"]
            assert text.decode("utf-8") == "fragmented ✓"
        finally:
            close_writer(writer)

    run_async(body(), 30)


def test_utf8_split_across_fragments(canal_server):
    """A multi-byte code point split across two fragments is valid UTF-8."""
    snowman = "☃".encode()  # e2 98 83

    async def body():
        reader, writer = await raw_handshake(canal_server.port)
        try:
            writer.write(build_frame(OP_TEXT, b"a" + snowman[:1], fin=False))
            writer.write(build_frame(OP_CONT, snowman[1:2], fin=False))
            writer.write(build_frame(OP_CONT, snowman[2:] + b"z", fin=True))
            await writer.drain()
            f = await read_frame(reader)
            assert f.opcode == OP_TEXT, f
            payload = f.payload
            while not f.fin:
                f = await read_frame(reader)
                assert f.opcode == OP_CONT, f
                payload += f.payload
            assert payload.decode("utf-8") == "a☃z"
        finally:
            close_writer(writer)

    run_async(body(), 30)


@pytest.mark.parametrize(
    "server_args", [["--max-message-size", "20000000"], ["--conformance"]], ids=["max-20MB", "conformance"]
)
def test_16MiB_messages(start_server, server_args):
    server = start_server(*server_args)
    binary = os.urandom(BIG)
    # Multi-byte characters throughout, so UTF-8 validation spans frame and
    # read-buffer boundaries: 'aé漢🎉' is 1+2+3+4 = 10 bytes.
    text = ("aé漢🎉" * (BIG // 10 + 1)).encode()[:BIG].decode("utf-8", "ignore")
    text_bytes = len(text.encode())
    assert BIG - 4 < text_bytes <= BIG

    async def body():
        async with ws_connect(server, max_size=32 * MiB, close_timeout=30) as ws:
            t0 = time.monotonic()
            await ws.send(binary)
            echoed = await recv(ws, 150)
            assert isinstance(echoed, bytes)
            assert len(echoed) == BIG and sha256_hex(echoed) == sha256_hex(binary)

            await ws.send(text)
            echoed = await recv(ws, 150)
            assert isinstance(echoed, str)
            assert len(echoed) == len(text) and echoed == text
            print(f"16 MiB binary + text round trips: {time.monotonic() - t0:.1f} s")

    run_async(body(), 300)


# --------------------------------------------------------------------------
# Ping / pong
# --------------------------------------------------------------------------


def test_client_ping_gets_pong(canal_server):
    async def body():
        async with ws_connect(canal_server) as ws:
            for payload in [b"", b"abc", os.urandom(125)]:
                pong_waiter = await ws.ping(payload)
                latency = await asyncio.wait_for(pong_waiter, 10)
                assert latency >= 0
            # Data still flows after pings.
            await ws.send("still here")
            assert await recv(ws) == "still here"

    run_async(body(), 30)


def test_raw_ping_pong_payload_and_unsolicited_pong(canal_server):
    async def body():
        reader, writer = await raw_handshake(canal_server.port)
        try:
            writer.write(build_frame(OP_PONG, b"unsolicited"))  # must be ignored
            writer.write(build_frame(OP_PING, b"\x00\xffping-payload"))
            await writer.drain()
            f = await read_frame(reader)
            assert f.opcode == OP_PONG and f.payload == b"\x00\xffping-payload", f
            assert not f.masked
            writer.write(build_frame(OP_BINARY, b"\x01\x02"))
            await writer.drain()
            f = await read_frame(reader)
            assert f.opcode == OP_BINARY and f.payload == b"\x01\x02" and f.fin, f
        finally:
            close_writer(writer)

    run_async(body(), 30)


# --------------------------------------------------------------------------
# Closing handshake
# --------------------------------------------------------------------------


@pytest.mark.parametrize("code,reason", [(1000, "bye"), (4000, "custom ✓ reason"), (1001, "")])
def test_client_initiated_close(canal_server, code, reason):
    async def body():
        ws = await ws_connect(canal_server, close_timeout=10)
        await ws.send("x")
        assert await recv(ws) == "x"
        t0 = time.monotonic()
        await asyncio.wait_for(ws.close(code, reason), 15)
        elapsed = time.monotonic() - t0
        assert ws.protocol.close_sent is not None and ws.protocol.close_sent.code == code
        rcvd = ws.protocol.close_rcvd
        assert rcvd is not None, "server never answered our Close frame"
        assert rcvd.code == code, f"server echoed close code {rcvd.code}, expected {code}"
        assert not ws.protocol.close_rcvd_then_sent, "we sent Close first"
        # The server must answer and then drop TCP promptly; a client-side
        # close_timeout (10 s) expiring would mean it did not.
        assert elapsed < 5, f"closing handshake took {elapsed:.1f} s"

    run_async(body(), 30)


def test_raw_close_without_status_code(canal_server):
    async def body():
        reader, writer = await raw_handshake(canal_server.port)
        try:
            writer.write(build_frame(OP_CLOSE, b""))
            await writer.drain()
            f = await read_frame(reader)
            assert f.opcode == OP_CLOSE, f
            # Echo of an empty close: empty, or 1000. Never 1005 on the wire.
            assert f.payload == b"" or f.close_code == 1000, f
            rest = await read_until_eof(reader, 10)
            assert rest == b"", f"data after Close: {rest[:100]!r}"
        finally:
            close_writer(writer)

    run_async(body(), 30)


def test_raw_close_code_and_reason(canal_server):
    async def body():
        reader, writer = await raw_handshake(canal_server.port)
        try:
            writer.write(build_frame(OP_CLOSE, close_payload(4000, "done")))
            await writer.drain()
            f = await read_frame(reader)
            assert f.opcode == OP_CLOSE and f.close_code == 4000, f
            f.payload[2:].decode("utf-8")  # reason, if any, is valid UTF-8
            assert await read_until_eof(reader, 10) == b""
        finally:
            close_writer(writer)

    run_async(body(), 30)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_server_shutdown_sends_1001(canal_server, sig):
    async def body():
        clients = [await ws_connect(canal_server) for _ in range(3)]
        for i, ws in enumerate(clients):
            await ws.send(f"hi {i}")
            assert await recv(ws) == f"hi {i}"
        canal_server.signal(sig)
        for ws in clients:
            await asyncio.wait_for(ws.wait_closed(), 15)
            assert close_code_received(ws) == 1001, (
                f"expected close 1001 (going away), got {ws.protocol.close_rcvd!r}"
            )
            assert ws.protocol.close_rcvd_then_sent, "server should have sent Close first"

    run_async(body(), 40)
    rc = canal_server.wait(15)
    assert rc == 0, f"`canal serve` exited with {rc} after {sig.name}\n{canal_server.describe()}"


# --------------------------------------------------------------------------
# Limits and protocol errors -> close codes
# --------------------------------------------------------------------------


def test_message_at_limit_is_accepted(start_server):
    server = start_server("--max-message-size", "1024")

    async def body():
        async with ws_connect(server) as ws:
            await ws.send(b"x" * 1024)
            assert await recv(ws) == b"x" * 1024
            await ws.send("y" * 1024)
            assert await recv(ws) == "y" * 1024

    run_async(body(), 30)


@pytest.mark.parametrize(
    "message",
    [b"x" * 2048, "y" * 2048, [b"z" * 600, b"z" * 600], ["w" * 500] * 3],
    ids=["binary", "text", "fragmented-binary", "fragmented-text"],
)
def test_oversize_message_closes_1009(start_server, message):
    server = start_server("--max-message-size", "1024")

    async def body():
        async with ws_connect(server) as ws:
            try:
                await ws.send(message)
            except ConnectionClosed:
                pass  # the server may fail the connection before we finish
            with pytest.raises(ConnectionClosed):
                await recv(ws)
            await asyncio.wait_for(ws.wait_closed(), 15)
            assert close_code_received(ws) == 1009, f"got {ws.protocol.close_rcvd!r}"

    run_async(body(), 30)


async def expect_close_code(reader, writer, code: int) -> None:
    """After a protocol violation: the server sends Close(code) (possibly after
    nothing else) and then drops the TCP connection."""
    f = await read_frame(reader)
    assert f.opcode == OP_CLOSE, f"expected a Close frame, got {f!r}"
    assert not f.masked, f"server Close frame is masked: {f!r}"
    assert f.close_code == code, f"expected close code {code}, got {f.close_code} ({f!r})"
    # Acknowledge like a polite client, then the server must drop TCP.
    try:
        writer.write(build_frame(OP_CLOSE, f.payload[:2]))
        await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        return
    await read_until_eof(reader, 10)


# Invalid UTF-8 from Autobahn case 6.3.1 ("κόσμε" + a UTF-16 surrogate + "edited").
INVALID_UTF8 = bytes.fromhex("cebae1bdb9cf83cebcceb5eda080656469746564")


@pytest.mark.parametrize(
    "frames",
    [
        [build_frame(OP_TEXT, INVALID_UTF8)],
        [build_frame(OP_TEXT, b"\xff")],
        [build_frame(OP_TEXT, b"ok", fin=False), build_frame(OP_CONT, b"\xc0\xaf", fin=True)],
        [build_frame(OP_CLOSE, close_payload(1000) + b"\xff\xfe")],
    ],
    ids=["surrogate", "0xff", "fragmented-overlong", "close-reason"],
)
def test_invalid_utf8_closes_1007(canal_server, frames):
    async def body():
        reader, writer = await raw_handshake(canal_server.port)
        try:
            writer.write(b"".join(frames))
            await writer.drain()
            await expect_close_code(reader, writer, 1007)
        finally:
            close_writer(writer)

    run_async(body(), 30)


@pytest.mark.parametrize(
    "frame",
    [
        build_frame(OP_TEXT, b"hello", mask=False),
        build_frame(OP_TEXT, b"hello", rsv=0b100),
        build_frame(0x3, b"reserved opcode"),
        build_frame(0xB, b"reserved control opcode"),
        build_frame(OP_PING, b"p" * 126),
        build_frame(OP_PING, b"frag", fin=False),
        build_frame(OP_CONT, b"orphan continuation"),
        build_frame(OP_CLOSE, b"\x03"),  # 1-byte close payload
        build_frame(OP_CLOSE, close_payload(1005)),  # reserved code on the wire
        build_frame(OP_CLOSE, close_payload(999)),
    ],
    ids=[
        "unmasked",
        "rsv1-without-extension",
        "opcode-3",
        "opcode-0xB",
        "ping-126-bytes",
        "fragmented-ping",
        "orphan-continuation",
        "close-1-byte",
        "close-1005",
        "close-999",
    ],
)
def test_protocol_violation_closes_1002(canal_server, frame):
    async def body():
        reader, writer = await raw_handshake(canal_server.port)
        try:
            writer.write(frame)
            await writer.drain()
            await expect_close_code(reader, writer, 1002)
        finally:
            close_writer(writer)

    run_async(body(), 30)


def test_new_data_message_inside_fragmented_message_closes_1002(canal_server):
    async def body():
        reader, writer = await raw_handshake(canal_server.port)
        try:
            writer.write(build_frame(OP_TEXT, b"start", fin=False))
            writer.write(build_frame(OP_TEXT, b"second start", fin=True))
            await writer.drain()
            await expect_close_code(reader, writer, 1002)
        finally:
            close_writer(writer)

    run_async(body(), 30)


# --------------------------------------------------------------------------
# HTTP-level behaviour of the opening handshake
# --------------------------------------------------------------------------


def test_plain_http_get_is_404(canal_server):
    async def body():
        reader, writer = await open_tcp(canal_server.port)
        try:
            writer.write(
                f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{canal_server.port}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            await writer.drain()
            resp = await read_http_response(reader)
            assert resp.status == 404, resp
        finally:
            close_writer(writer)

    run_async(body(), 30)


def test_bad_version_is_426(canal_server):
    async def body():
        reader, writer = await open_tcp(canal_server.port)
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write(upgrade_request(canal_server.port, key, version="8"))
            await writer.drain()
            resp = await read_http_response(reader)
            assert resp.status == 426, resp
            versions = ",".join(resp.header_values("Sec-WebSocket-Version"))
            assert "13" in [v.strip() for v in versions.split(",")], resp
        finally:
            close_writer(writer)

    run_async(body(), 30)


def test_missing_key_is_rejected(canal_server):
    async def body():
        reader, writer = await open_tcp(canal_server.port)
        try:
            writer.write(
                f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{canal_server.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n".encode()
            )
            await writer.drain()
            resp = await read_http_response(reader)
            assert 400 <= resp.status < 500, resp
        finally:
            close_writer(writer)

    run_async(body(), 30)


# Well under the handshake timeout (~10 s), so waiting it out doesn't pass.
GARBAGE_BOUND = 5.0


@pytest.mark.parametrize(
    "garbage",
    [
        b"GARBAGE GARBAGE GARBAGE\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(64)) + b"\r\n\r\n",
        b"\x00" * 64 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n",
    ],
    ids=["words", "tls-client-hello", "nul-bytes", "malformed-header"],
)
def test_garbage_handshake_gets_400_or_close(canal_server, garbage):
    """Unparseable input must get a 400 (and a close) or an immediate close,
    not sit until the handshake timeout."""

    async def body():
        reader, writer = await open_tcp(canal_server.port)
        data = None
        try:
            writer.write(garbage)
            await writer.drain()
            data = await read_until_eof(reader, GARBAGE_BOUND)
        except asyncio.TimeoutError:
            pass
        finally:
            close_writer(writer)
        if data is None:
            pytest.fail(
                f"server neither answered 400 nor closed the connection within "
                f"{GARBAGE_BOUND:.0f} s of receiving garbage",
                pytrace=False,
            )
        if data:
            assert data.startswith((b"HTTP/1.1 400", b"HTTP/1.0 400")), data[:200]

    run_async(body(), 30)


def test_idle_connection_is_closed_by_handshake_timeout(canal_server):
    async def body():
        reader, writer = await open_tcp(canal_server.port)
        t0 = time.monotonic()
        try:
            data = await read_until_eof(reader, 25)
        except asyncio.TimeoutError:
            pytest.fail("server kept a silent connection open for 25 s (handshake timeout?)")
        finally:
            close_writer(writer)
        elapsed = time.monotonic() - t0
        print(f"idle connection closed after {elapsed:.1f} s; sent {data[:80]!r}")
        if data:
            assert data.startswith(b"HTTP/1."), data[:200]

    run_async(body(), 30)


def test_partial_handshake_is_closed_by_handshake_timeout(canal_server):
    async def body():
        reader, writer = await open_tcp(canal_server.port)
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
            await writer.drain()
            data = await read_until_eof(reader, 25)
        except asyncio.TimeoutError:
            pytest.fail("server kept a half-sent handshake open for 25 s (slowloris)")
        finally:
            close_writer(writer)
        if data:
            assert data.startswith(b"HTTP/1."), data[:200]

    run_async(body(), 30)


def test_server_still_serves_after_bad_clients(canal_server):
    """Bad handshakes and protocol errors on some connections don't disturb others."""

    async def body():
        async with ws_connect(canal_server) as good:
            reader, writer = await open_tcp(canal_server.port)
            writer.write(b"GARBAGE\r\n\r\n")
            await writer.drain()
            r2, w2 = await raw_handshake(canal_server.port)
            w2.write(build_frame(OP_TEXT, b"x", mask=False))
            await w2.drain()
            await read_until_eof(r2, 15)
            close_writer(writer)
            close_writer(w2)
            await good.send("still fine")
            assert await recv(good) == "still fine"

    run_async(body(), 30)


# --------------------------------------------------------------------------
# Misc
# --------------------------------------------------------------------------


def test_concurrent_clients(canal_server):
    async def client(i: int):
        async with ws_connect(canal_server) as ws:
            for j in range(20):
                if j % 2:
                    payload: str | bytes = f"client {i} message {j} " * (j + 1)
                else:
                    payload = os.urandom(j * 100)
                await ws.send(payload)
                assert await recv(ws) == payload

    async def body():
        await asyncio.gather(*(client(i) for i in range(10)))

    run_async(body(), 60)


def test_no_keepalive_flag(start_server):
    server = start_server("--no-keepalive")

    async def body():
        async with ws_connect(server) as ws:
            await ws.send("ok")
            assert await recv(ws) == "ok"

    run_async(body(), 30)
