"""`canal-testpeer client` (our client) against a python `websockets` server.

The python server runs in the test's own event loop on 127.0.0.1:0; the
client is driven over JSON lines (see AsyncTestPeer in canal_interop.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import os
import re
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from canal_interop import (
    OP_CLOSE,
    OP_TEXT,
    AsyncTestPeer,
    accept_key,
    build_frame,
    close_payload,
    read_frame,
    run_async,
    sha256_hex,
)

pytestmark = pytest.mark.needs_binaries("canal-testpeer")

MiB = 1024 * 1024
BIG = 16 * MiB
INLINE_DATA_LIMIT = 4096  # events carry "data" only up to this size


class Recorder:
    """What the python server saw on its (single) connection."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[str | bytes] = asyncio.Queue()
        self.connection: asyncio.Future[ServerConnection] = asyncio.get_running_loop().create_future()
        self.finished: asyncio.Future[ServerConnection] = asyncio.get_running_loop().create_future()
        self.requests: list[Any] = []

    async def next_message(self, timeout: float = 15.0) -> str | bytes:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def wait_finished(self, timeout: float = 15.0) -> ServerConnection:
        ws = await asyncio.wait_for(asyncio.shield(self.finished), timeout)
        await asyncio.wait_for(ws.wait_closed(), timeout)
        return ws


Handler = Callable[[ServerConnection, Recorder], Awaitable[None]]


async def echo(ws: ServerConnection, rec: Recorder) -> None:
    async for msg in ws:
        rec.received.put_nowait(msg)
        await ws.send(msg)


@contextlib.asynccontextmanager
async def py_server(handler: Handler = echo, **kwargs: Any) -> AsyncIterator[tuple[str, Recorder]]:
    rec = Recorder()

    async def wrapped(ws: ServerConnection) -> None:
        if not rec.connection.done():
            rec.connection.set_result(ws)
        try:
            await handler(ws, rec)
        except ConnectionClosed:
            pass
        finally:
            if not rec.finished.done():
                rec.finished.set_result(ws)

    user_process_request = kwargs.pop("process_request", None)

    def process_request(connection, request):
        rec.requests.append(request)
        if user_process_request is not None:
            return user_process_request(connection, request)
        return None

    kwargs.setdefault("max_size", 32 * MiB)
    async with serve(
        wrapped,
        "127.0.0.1",
        0,
        ping_interval=None,
        open_timeout=15,
        close_timeout=10,
        process_request=process_request,
        **kwargs,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/", rec


async def start_peer(exe, url: str, *args: str) -> AsyncTestPeer:
    return await AsyncTestPeer.start(exe, url, *args)


def check_message(event: dict[str, Any], payload: str | bytes) -> None:
    """An `message` event matches `payload` (kind, size, sha256, inline data)."""
    raw = payload.encode("utf-8") if isinstance(payload, str) else payload
    kind = "text" if isinstance(payload, str) else "binary"
    assert event["event"] == "message", event
    assert event["kind"] == kind, event
    assert event["size"] == len(raw), event
    assert event["sha256"].lower() == sha256_hex(raw), event
    if len(raw) <= INLINE_DATA_LIMIT:
        assert "data" in event, f"message of {len(raw)} bytes without inline data: {event}"
        if kind == "text":
            assert event["data"] == payload, event
        else:
            assert event["data"].lower() == raw.hex(), event


async def finish(peer: AsyncTestPeer, expect_code: int = 1000) -> dict[str, Any]:
    """Close stdin (=> close 1000), expect a clean `closed` and exit 0."""
    await peer.close_stdin()
    closed = await peer.expect("closed")
    assert closed["code"] == expect_code and closed["clean"] is True, closed
    assert await peer.wait() == 0, peer.describe()
    return closed


# --------------------------------------------------------------------------
# Data round trips
# --------------------------------------------------------------------------


def test_text_round_trips(testpeer_exe):
    messages = ["hello", "", "héllo wörld — 漢字 🎉 𝄞", "\u0000nul", "x" * 5000]

    async def body():
        async with py_server() as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                opened = await peer.expect("open")
                assert opened.get("protocol") is None, opened
                for msg in messages:
                    await peer.send(op="text", data=msg)
                    got = await rec.next_message()
                    assert isinstance(got, str) and got == msg
                    check_message(await peer.expect("message"), msg)
                await finish(peer)
                ws = await rec.wait_finished()
                assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000

    run_async(body(), 60)


def test_binary_round_trips(testpeer_exe):
    payloads = [b"\x00\x01\x02\xff", b"", bytes(range(256)), os.urandom(5000)]

    async def body():
        async with py_server() as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                for payload in payloads:
                    await peer.send(op="binary", hex=payload.hex())
                    got = await rec.next_message()
                    assert isinstance(got, bytes) and got == payload
                    check_message(await peer.expect("message"), payload)
                await finish(peer)

    run_async(body(), 60)


def pattern_candidates(pattern: str, size: int, kind: str) -> list[bytes]:
    """Bytes a {size, pattern} command may denote. For text the pattern is
    text; for binary the spec's example ("ab") reads as either hex or ASCII, so
    accept both."""
    cands = []
    for unit in ([pattern.encode()] if kind == "text" else [bytes.fromhex(pattern), pattern.encode()]):
        cands.append((unit * (size // len(unit) + 1))[:size])
    return cands


@pytest.mark.parametrize("kind,pattern", [("text", "xy"), ("binary", "ab"), ("binary", "00ff10")])
def test_generated_payloads(testpeer_exe, kind, pattern):
    size = 100_003

    async def body():
        async with py_server() as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                await peer.send(op=kind, size=size, pattern=pattern)
                got = await rec.next_message()
                raw = got.encode() if isinstance(got, str) else got
                assert isinstance(got, str) == (kind == "text")
                assert raw in pattern_candidates(pattern, size, kind), raw[:40]
                check_message(await peer.expect("message"), got)
                await finish(peer)

    run_async(body(), 60)


@pytest.mark.parametrize(
    "kind,parts",
    [
        ("text", ["Hel", "lo ", "wörld ", "🎉"]),
        ("text", [f"{i}," for i in range(50)]),
        ("binary", ["0102", "03", "ff" * 3000]),
    ],
    ids=["text", "text-50-parts", "binary"],
)
def test_fragmented_messages(testpeer_exe, kind, parts):
    """The server sees exactly the fragments the client was told to send."""

    async def handler(ws: ServerConnection, rec: Recorder) -> None:
        while True:
            frames = [f async for f in ws.recv_streaming()]
            rec.received.put_nowait(frames)
            await ws.send(frames[0][:0].join(frames))

    async def body():
        async with py_server(handler) as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                await peer.send(op="fragments", kind=kind, parts=parts)
                frames = await rec.next_message()
                expected = parts if kind == "text" else [bytes.fromhex(p) for p in parts]
                # Tolerate an empty final frame (some senders finish that way);
                # otherwise each part must be exactly one frame.
                seen = frames[:-1] if len(frames) > len(expected) and not frames[-1] else frames
                assert seen == expected, (
                    f"server saw {len(frames)} frames of sizes {[len(f) for f in frames]}, "
                    f"expected sizes {[len(p) for p in expected]}"
                )
                whole = "".join(parts) if kind == "text" else b"".join(expected)
                check_message(await peer.expect("message"), whole)
                await finish(peer)

    run_async(body(), 60)


def test_server_sent_fragmented_and_mixed_messages(testpeer_exe):
    """Server pushes messages unprompted, incl. a fragmented one, then closes."""
    msgs: list[Any] = ["first", b"\x01\x02", ["frag", "mented ", "✓"], [b"\xaa", b"\xbb"], "last"]

    async def handler(ws: ServerConnection, rec: Recorder) -> None:
        for m in msgs:
            await ws.send(m)
        await ws.close(1000, "bye")

    async def body():
        async with py_server(handler) as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                for m in msgs:
                    if isinstance(m, list):
                        m = m[0][:0].join(m)
                    check_message(await peer.expect("message"), m)
                closed = await peer.expect("closed")
                assert closed["code"] == 1000 and closed["reason"] == "bye" and closed["clean"] is True, closed
                assert await peer.wait() == 0

    run_async(body(), 60)


def test_16MiB_round_trips(testpeer_exe):
    async def handler(ws: ServerConnection, rec: Recorder) -> None:
        async for msg in ws:
            rec.received.put_nowait(msg)
            await ws.send(msg)

    async def body():
        async with py_server(handler, max_size=32 * MiB) as (url, rec):
            async with await start_peer(testpeer_exe, url, "--max-message-size", "20000000") as peer:
                await peer.expect("open")
                for kind, pattern in [("binary", "ab"), ("text", "xy")]:
                    await peer.send(op=kind, size=BIG, pattern=pattern)
                    got = await rec.next_message(150)
                    raw = got.encode() if isinstance(got, str) else got
                    assert len(raw) == BIG
                    assert raw in pattern_candidates(pattern, BIG, kind)
                    ev = await peer.expect("message", 150)
                    assert ev["kind"] == kind and ev["size"] == BIG, {k: v for k, v in ev.items() if k != "data"}
                    assert ev["sha256"].lower() == sha256_hex(raw)
                await finish(peer)

    run_async(body(), 360)


def test_large_unicode_text(testpeer_exe):
    text = "aé漢🎉" * 100_000  # ~1 MB, every UTF-8 length

    async def body():
        async with py_server() as (url, rec):
            async with await start_peer(testpeer_exe, url, "--max-message-size", "20000000") as peer:
                await peer.expect("open")
                await peer.send(op="text", data=text)
                assert await rec.next_message(60) == text
                check_message(await peer.expect("message", 60), text)
                await finish(peer)

    run_async(body(), 120)


# --------------------------------------------------------------------------
# Ping / pong
# --------------------------------------------------------------------------


def test_server_ping_is_answered(testpeer_exe):
    async def handler(ws: ServerConnection, rec: Recorder) -> None:
        msg = await ws.recv()
        assert msg == "go"
        waiter = await ws.ping(b"hi")
        try:
            await asyncio.wait_for(waiter, 10)
            await ws.send("pong-received")
        except asyncio.TimeoutError:
            await ws.send("no-pong")
        await ws.wait_closed()

    async def body():
        async with py_server(handler) as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                await peer.send(op="text", data="go")
                check_message(await peer.expect("message"), "pong-received")
                pings = [e for e in peer.events if e["event"] == "ping"]
                assert pings and pings[0].get("data") == "hi", peer.events
                await finish(peer)

    run_async(body(), 60)


def test_client_ping_gets_pong(testpeer_exe):
    async def body():
        async with py_server() as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                await peer.send(op="ping", data="abc")
                pong = await peer.expect("pong", allow=())
                assert pong.get("data") == "abc", pong
                await peer.send(op="ping", data="")
                pong = await peer.expect("pong", allow=())
                assert pong.get("data", "") == "", pong
                await finish(peer)

    run_async(body(), 30)


def test_unsolicited_pong_is_harmless(testpeer_exe):
    async def body():
        async with py_server() as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                await peer.send(op="pong", data="unsolicited")
                await peer.send(op="text", data="after pong")
                assert await rec.next_message() == "after pong"
                check_message(await peer.expect("message"), "after pong")
                await finish(peer)

    run_async(body(), 30)


# --------------------------------------------------------------------------
# Closing handshake
# --------------------------------------------------------------------------


@pytest.mark.parametrize("code,reason", [(1000, "bye"), (4002, "custom ✓ reason"), (1001, "")])
def test_client_initiated_close(testpeer_exe, code, reason):
    async def body():
        async with py_server() as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                await peer.send(op="close", code=code, reason=reason)
                ws = await rec.wait_finished()
                rcvd = ws.protocol.close_rcvd
                assert rcvd is not None, "server got no Close frame"
                assert (rcvd.code, rcvd.reason) == (code, reason)
                closed = await peer.expect("closed")
                # python-websockets echoes the client's code (and reason).
                assert closed["code"] == code and closed["clean"] is True, closed
                assert await peer.wait() == 0, peer.describe()

    run_async(body(), 30)


def test_client_close_without_code(testpeer_exe):
    async def body():
        async with py_server() as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                await peer.send(op="close")
                ws = await rec.wait_finished()
                rcvd = ws.protocol.close_rcvd
                assert rcvd is not None, "server got no Close frame"
                # Either an empty Close (seen as 1005) or 1000 by default.
                assert rcvd.code in (1005, 1000), rcvd
                closed = await peer.expect("closed")
                assert closed["clean"] is True, closed
                assert await peer.wait() == 0

    run_async(body(), 30)


def test_stdin_eof_closes_with_1000(testpeer_exe):
    async def body():
        async with py_server() as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                await finish(peer)
                ws = await rec.wait_finished()
                assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000

    run_async(body(), 30)


def test_server_initiated_close_4001(testpeer_exe):
    async def handler(ws: ServerConnection, rec: Recorder) -> None:
        msg = await ws.recv()
        rec.received.put_nowait(msg)
        await ws.close(4001, "done")

    async def body():
        async with py_server(handler) as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                await peer.send(op="text", data="close me")
                assert await rec.next_message() == "close me"
                closed = await peer.expect("closed")
                assert closed == {**closed, "code": 4001, "reason": "done", "clean": True}, closed
                assert await peer.wait() == 0, peer.describe()
                ws = await rec.wait_finished()
                # The client answered our Close (echoing the code, per RFC 6455 5.5.1).
                assert ws.protocol.close_rcvd is not None, "client never answered the Close"
                assert ws.protocol.close_rcvd.code == 4001, ws.protocol.close_rcvd

    run_async(body(), 30)


def test_server_drops_tcp_without_close(testpeer_exe):
    async def handler(ws: ServerConnection, rec: Recorder) -> None:
        await ws.recv()
        ws.transport.abort()

    async def body():
        async with py_server(handler) as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                await peer.send(op="text", data="then vanish")
                closed = await peer.expect("closed", allow=("error", "ping", "pong"))
                assert closed["clean"] is False, closed
                assert closed["code"] == 1006, closed
                await peer.wait()

    run_async(body(), 30)


def test_client_max_message_size_closes_1009(testpeer_exe):
    async def handler(ws: ServerConnection, rec: Recorder) -> None:
        await ws.send(b"x" * 2048)
        await ws.wait_closed()

    async def body():
        async with py_server(handler) as (url, rec):
            async with await start_peer(testpeer_exe, url, "--max-message-size", "1024") as peer:
                await peer.expect("open")
                closed = await peer.expect("closed", allow=("error", "ping", "pong"))
                ws = await rec.wait_finished()
                assert ws.protocol.close_rcvd is not None, "client failed the connection without a Close frame"
                assert ws.protocol.close_rcvd.code == 1009, ws.protocol.close_rcvd
                # Failing the connection may drop TCP without awaiting the echo
                # (RFC 6455 7.1.7), which makes the local code 1006.
                assert closed["code"] in (1009, 1006), closed
                await peer.wait()

    run_async(body(), 30)


# --------------------------------------------------------------------------
# Opening handshake
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "server_protocols,expected",
    [(["chat"], "chat"), (["superchat", "chat"], "superchat"), (None, None)],
    ids=["chat", "server-prefers-superchat", "server-has-none"],
)
def test_subprotocol_selection(testpeer_exe, server_protocols, expected):
    async def body():
        async with py_server(subprotocols=server_protocols) as (url, rec):
            async with await start_peer(
                testpeer_exe, url, "--protocol", "chat", "--protocol", "superchat"
            ) as peer:
                opened = await peer.expect("open")
                assert opened.get("protocol") == expected, opened
                offered = ",".join(rec.requests[0].headers.get_all("Sec-WebSocket-Protocol"))
                assert [p.strip() for p in offered.split(",")] == ["chat", "superchat"], offered
                ws = await asyncio.wait_for(asyncio.shield(rec.connection), 10)
                assert ws.subprotocol == expected
                await finish(peer)

    run_async(body(), 30)


def test_custom_header_is_sent(testpeer_exe):
    async def body():
        async with py_server() as (url, rec):
            async with await start_peer(
                testpeer_exe, url, "--header", "X-Canal-Test: 42", "--header", "X-Other: a b"
            ) as peer:
                await peer.expect("open")
                headers = rec.requests[0].headers
                assert headers.get("X-Canal-Test") == "42", headers
                assert headers.get("X-Other") == "a b", headers
                await finish(peer)

    run_async(body(), 30)


def test_request_has_valid_handshake_headers(testpeer_exe):
    async def body():
        async with py_server() as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                await peer.expect("open")
                req = rec.requests[0]
                assert req.headers.get("Sec-WebSocket-Version") == "13"
                assert req.headers.get("Host") in (url[5:-1], "127.0.0.1"), req.headers
                await finish(peer)

    run_async(body(), 30)


def test_handshake_rejected_403(testpeer_exe):
    def reject(connection, request):
        return connection.respond(http.HTTPStatus.FORBIDDEN, "go away\n")

    async def body():
        async with py_server(process_request=reject) as (url, rec):
            async with await start_peer(testpeer_exe, url) as peer:
                err = await peer.expect("error", allow=())
                assert err.get("status") == 403, err
                assert err.get("message"), err
                assert await peer.wait() == 1, peer.describe()
                assert not rec.connection.done()

    run_async(body(), 30)


def test_connection_refused_is_an_error(testpeer_exe):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now

    async def body():
        async with await start_peer(testpeer_exe, f"ws://127.0.0.1:{port}/") as peer:
            err = await peer.expect("error", allow=())
            assert "status" not in err or err["status"] is None, err
            assert await peer.wait() == 1, peer.describe()

    run_async(body(), 30)


@pytest.mark.parametrize("then_close", [False, True], ids=["message", "message+close"])
def test_frames_coalesced_with_101_response(testpeer_exe, then_close):
    """A server may send its first frames in the same TCP segment as the 101
    response (kosoku's /getCaseCount does: 101 + "N" + Close). Those bytes must
    not be lost."""
    done: asyncio.Future[list] = None  # type: ignore[assignment]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen: list = []
        try:
            head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)).decode("latin-1")
            key = re.search(r"(?im)^sec-websocket-key:\s*(\S+)", head).group(1)
            out = (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
            ).encode() + build_frame(OP_TEXT, b"301", mask=False)
            if then_close:
                out += build_frame(OP_CLOSE, close_payload(1000), mask=False)
            writer.write(out)  # one write: response and frames together
            await writer.drain()
            while True:
                f = await read_frame(reader, 15)
                seen.append(f)
                if f.opcode == OP_CLOSE:
                    if not then_close:
                        writer.write(build_frame(OP_CLOSE, f.payload[:2], mask=False))
                        await writer.drain()
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()
            if not done.done():
                done.set_result(seen)

    async def body():
        nonlocal done
        done = asyncio.get_running_loop().create_future()
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with await start_peer(testpeer_exe, f"ws://127.0.0.1:{port}/") as peer:
                await peer.expect("open")
                check_message(await peer.expect("message"), "301")
                if not then_close:
                    await peer.close_stdin()
                closed = await peer.expect("closed")
                assert closed["code"] == 1000, closed
                assert await peer.wait() == 0
            frames = await asyncio.wait_for(done, 15)
            assert frames and frames[-1].opcode == OP_CLOSE and frames[-1].masked, frames
        finally:
            server.close()

    run_async(body(), 30)
