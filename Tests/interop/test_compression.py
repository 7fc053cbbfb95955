"""permessage-deflate (RFC 7692) against independent peers.

* python `websockets` (which offers and accepts permessage-deflate by default)
  against `canal serve --compression ...`, and `canal-testpeer client` (which
  offers it by default) against a python `websockets` server.
* The Autobahn compression cases 12.* and 13.* through kosoku, both directions.

kosoku 0.1.0 reports ERROR when a server leaves a short message uncompressed on a
connection that negotiated permessage-deflate, although RFC 7692 §6 lets every
message choose; so the conformance runs set the compression threshold to 0
(`--compression-threshold 0` for the server; `canal-testpeer autobahn` does the
same for the client).

Environment: CANAL_AUTOBAHN_COMPRESSION_CASES (comma-separated include globs,
default "12.*,13.*"), CANAL_AUTOBAHN_REPORTS and CANAL_AUTOBAHN_PARALLELISM as in
test_autobahn.py.
"""

from __future__ import annotations

import asyncio
import base64
import os
import zlib
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import PerMessageDeflate

from canal_interop import (
    CANAL,
    OP_TEXT,
    TESTPEER,
    AsyncTestPeer,
    build_frame,
    open_tcp,
    read_frame,
    read_http_response,
    run_async,
    upgrade_request,
)
from test_autobahn import (
    report_dir,
    run_client_suite,
    run_server_suite,
)
from test_client_interop import check_message, finish, py_server

MiB = 1024 * 1024
TEXT_4K = ("{\"symbol\": \"CNL\", \"price\": 42.125, \"volume\": 1200} " * 80)[:4096]


def compression_cases() -> list[str]:
    raw = os.environ.get("CANAL_AUTOBAHN_COMPRESSION_CASES", "12.*,13.*")
    return [c.strip() for c in raw.split(",") if c.strip()]


def deflate_of(ws) -> PerMessageDeflate | None:
    for extension in ws.protocol.extensions:
        if isinstance(extension, PerMessageDeflate):
            return extension
    return None


def py_connect(url: str, **kwargs: Any):
    kwargs.setdefault("max_size", 32 * MiB)
    return connect(url, open_timeout=15, close_timeout=10, ping_interval=None, **kwargs)


# --------------------------------------------------------------------------
# python websockets client -> canal serve
# --------------------------------------------------------------------------


@pytest.mark.needs_binaries(CANAL)
@pytest.mark.parametrize("preset", ["balanced", "low-memory", "maximum"])
def test_python_client_negotiates_and_echoes_through_compression(start_server, preset):
    server = start_server("--compression", preset)

    async def body() -> None:
        async with py_connect(server.url) as ws:
            deflate = deflate_of(ws)
            assert deflate is not None, "permessage-deflate was not negotiated"
            if preset == "low-memory":
                assert deflate.local_no_context_takeover and deflate.remote_no_context_takeover
                assert deflate.remote_max_window_bits == 12
            if preset == "balanced":
                assert deflate.remote_no_context_takeover  # the server keeps no context
                # The client keeps its context, within the 12-bit window the server asked
                # for, so that the server holds at most 4 KiB of it between messages.
                assert not deflate.local_no_context_takeover
                assert deflate.local_max_window_bits == 12
            for message in [TEXT_4K, "short", "", "héllo wörld — 漢字 🎉" * 50, bytes(range(256)) * 40, TEXT_4K * 200]:
                await ws.send(message)
                echoed = await asyncio.wait_for(ws.recv(), 15)
                assert echoed == message

    run_async(body(), 60)


@pytest.mark.needs_binaries(CANAL)
def test_python_client_keeping_its_context_in_a_small_window_is_echoed(start_server):
    """`.balanced`: python's client keeps its context within 12 bits; the server keeps only
    that window between messages and must restore it for each message that refers to it."""
    server = start_server("--compression", "balanced")
    lines = [f"{i}: " + "user joined the lobby and said hello to everyone in room 42 " * 12 + f"#{i * 7919 % 1000}"
             for i in range(50)]

    async def body() -> None:
        async with py_connect(server.url) as ws:
            deflate = deflate_of(ws)
            assert deflate is not None and deflate.local_max_window_bits == 12
            assert not deflate.local_no_context_takeover
            for line in lines:
                await ws.send(line)
                assert await asyncio.wait_for(ws.recv(), 15) == line

    run_async(body(), 60)


# The balanced server's answer to each kind of offer (RFC 7692 §7.1): a client that offered
# client_max_window_bits is held to 12 bits; one that did not is asked to keep no context;
# one that keeps no context anyway is not held to a window.
BALANCED_ANSWERS = [
    ("permessage-deflate; client_max_window_bits",
     "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"),
    ("permessage-deflate; client_max_window_bits=10",
     "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"),
    ("permessage-deflate",
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    ("permessage-deflate; client_no_context_takeover; client_max_window_bits",
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    ("permessage-deflate; server_max_window_bits=10; client_max_window_bits",
     "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"),
    ("permessage-deflate; unknown_parameter", None),
]


@pytest.mark.needs_binaries(CANAL)
@pytest.mark.parametrize("offer,answer", BALANCED_ANSWERS, ids=[a[0] for a in BALANCED_ANSWERS])
def test_balanced_server_answers_each_offer(start_server, offer, answer):
    server = start_server("--compression", "balanced")

    async def body() -> None:
        reader, writer = await open_tcp(server.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(upgrade_request(server.port, key, extra=f"Sec-WebSocket-Extensions: {offer}\r\n"))
        await writer.drain()
        response = await read_http_response(reader)
        assert response.status == 101, response
        assert response.header("Sec-WebSocket-Extensions") == answer
        writer.close()

    run_async(body(), 30)


@pytest.mark.needs_binaries(CANAL)
def test_python_client_is_refused_compression_by_default(canal_server):
    async def body() -> None:
        async with py_connect(canal_server.url) as ws:
            assert deflate_of(ws) is None
            await ws.send(TEXT_4K)
            assert await asyncio.wait_for(ws.recv(), 15) == TEXT_4K

    run_async(body(), 30)


@pytest.mark.needs_binaries(CANAL)
def test_python_client_sending_a_decompression_bomb_is_closed_1009(start_server):
    server = start_server("--compression", "balanced", "--max-message-size", "65536")

    async def body() -> None:
        async with py_connect(server.url) as ws:
            assert deflate_of(ws) is not None
            await ws.send(bytes(8 * MiB))  # compresses to about 8 KiB
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 15)
            assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1009

    run_async(body(), 30)


@pytest.mark.needs_binaries(CANAL)
def test_server_answers_raw_compressed_frame_with_compressed_frame(start_server):
    """Bytes on the wire: a compressed masked frame in, an RSV1 frame out whose payload
    is the sync-flushed deflate stream without its 00 00 ff ff tail (RFC 7692 §7.2.1)."""
    server = start_server("--compression", "balanced")

    async def body() -> None:
        reader, writer = await open_tcp(server.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(upgrade_request(server.port, key,
                                     extra="Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"))
        await writer.drain()
        response = await read_http_response(reader)
        assert response.status == 101, response
        assert response.header("Sec-WebSocket-Extensions") == (
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=12")
        compressor = zlib.compressobj(wbits=-12)
        payload = compressor.compress(TEXT_4K.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
        assert payload.endswith(b"\x00\x00\xff\xff")
        writer.write(build_frame(OP_TEXT, payload[:-4], rsv=4))
        await writer.drain()
        frame = await read_frame(reader)
        assert frame.opcode == OP_TEXT and frame.rsv == 4 and not frame.masked, frame
        assert len(frame.payload) < 1024, f"{len(frame.payload)} bytes for 4 KB of repetitive text"
        inflater = zlib.decompressobj(wbits=-15)
        assert inflater.decompress(frame.payload + b"\x00\x00\xff\xff").decode() == TEXT_4K
        writer.close()

    run_async(body(), 30)


# --------------------------------------------------------------------------
# canal-testpeer client -> python websockets server
# --------------------------------------------------------------------------


@pytest.mark.needs_binaries(TESTPEER)
@pytest.mark.parametrize("server_compression", ["deflate", None], ids=["server-deflate", "server-plain"])
def test_canal_client_against_python_server(testpeer_exe, server_compression):
    async def body() -> None:
        async with py_server(compression=server_compression) as (url, rec):
            peer = await AsyncTestPeer.start(testpeer_exe, url)
            async with peer:
                await peer.expect("open")
                ws = await asyncio.wait_for(asyncio.shield(rec.connection), 15)
                assert (deflate_of(ws) is not None) == (server_compression == "deflate")
                for payload in [TEXT_4K, "tiny", "", TEXT_4K * 100]:
                    await peer.send(op="text", data=payload)
                    assert await rec.next_message() == payload
                    check_message(await peer.expect("message"), payload)
                blob = bytes(range(256)) * 64
                await peer.send(op="binary", hex=blob.hex())
                assert await rec.next_message() == blob
                check_message(await peer.expect("message"), blob)
                await finish(peer)

    run_async(body(), 60)


@pytest.mark.needs_binaries(TESTPEER)
def test_canal_client_receiving_a_bomb_closes_1009(testpeer_exe):
    async def bomb(ws, rec) -> None:
        await ws.send(bytes(8 * MiB))
        async for _ in ws:
            pass

    async def body() -> None:
        async with py_server(bomb) as (url, rec):
            peer = await AsyncTestPeer.start(testpeer_exe, url, "--max-message-size", "65536")
            async with peer:
                await peer.expect("open")
                ws = await asyncio.wait_for(asyncio.shield(rec.connection), 15)
                assert deflate_of(ws) is not None
                await peer.expect("closed", timeout=20)
                # The peer's side: our client failed the connection with 1009.
                server_side = await rec.wait_finished()
                assert server_side.close_code == 1009, server_side.close_code

    run_async(body(), 60)


# --------------------------------------------------------------------------
# Autobahn 12.* and 13.*
# --------------------------------------------------------------------------


@pytest.mark.autobahn
@pytest.mark.needs_binaries(CANAL)
def test_autobahn_compression_server(start_server, spawn, tmp_path):
    """kosoku fuzzingclient -> `canal serve --conformance --compression balanced --compression-threshold 0`."""
    run_server_suite(start_server, spawn, tmp_path, "servers-deflate", compression_cases(), [],
                     "--conformance", "--compression", "balanced", "--compression-threshold", "0")


@pytest.mark.autobahn
@pytest.mark.needs_binaries(TESTPEER)
def test_autobahn_compression_client(spawn, testpeer_exe, tmp_path):
    """`canal-testpeer autobahn` (compression offered, threshold 0) -> kosoku fuzzingserver."""
    run_client_suite(spawn, testpeer_exe, report_dir(tmp_path, "clients-deflate"), compression_cases(), [])


# --------------------------------------------------------------------------
# Headless Chromium -> canal serve
# --------------------------------------------------------------------------

BROWSER_PAGE = """<!doctype html><title>pending</title><script>
const results = [];
let differs = false;
const ws = new WebSocket(%(url)r);
const big = %(text)r;
// The second `big` refers to the first through the browser's kept window.
ws.onopen = () => { ws.send(big); ws.send("tiny"); ws.send(new Uint8Array(5000).fill(7)); ws.send(big); };
ws.binaryType = "arraybuffer";
ws.onmessage = (event) => {
  results.push(typeof event.data === "string" ? event.data.length : event.data.byteLength);
  if (typeof event.data === "string" && event.data.length === big.length && event.data !== big) {
    differs = true;
  }
  if (results.length === 4) {
    document.title = "done " + JSON.stringify({extensions: ws.extensions, sizes: results,
                                                 same: results[0] === big.length, differs});
    ws.close(1000);
  }
};
ws.onerror = () => { document.title = "error"; };
</script>"""


def chromium_driver():
    """A headless Chromium through chromedriver, or a skip saying what is missing
    (Debian's chromium and chromium-driver, and pip's selenium)."""
    import shutil

    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install selenium)")
    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.mark.browser
@pytest.mark.needs_binaries(CANAL)
@pytest.mark.parametrize("preset", ["balanced", "maximum"])
def test_chromium_negotiates_and_echoes_through_compression(start_server, tmp_path, preset):
    import json
    import time

    server = start_server("--compression", preset)
    page = tmp_path / "page.html"
    page.write_text(BROWSER_PAGE % {"url": server.url, "text": TEXT_4K * 4})
    driver = chromium_driver()
    try:
        driver.set_page_load_timeout(30)
        driver.get(page.as_uri())
        deadline = time.monotonic() + 30
        while not driver.title.startswith(("done", "error")) and time.monotonic() < deadline:
            time.sleep(0.1)
        title = driver.title
    finally:
        driver.quit()
    assert title.startswith("done "), f"page title {title!r}\n{server.describe()}"
    result = json.loads(title[len("done "):])
    assert result["extensions"].startswith("permessage-deflate"), result
    assert result["sizes"] == [len(TEXT_4K) * 4, 4, 5000, len(TEXT_4K) * 4] and result["same"], result
    assert not result["differs"], result
    if preset == "balanced":
        # Chromium offers client_max_window_bits: it keeps its context within 12 bits.
        assert "client_max_window_bits=12" in result["extensions"], result
        assert "client_no_context_takeover" not in result["extensions"], result
