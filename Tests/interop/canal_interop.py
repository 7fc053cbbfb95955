"""Helpers shared by the interop suite (imported by conftest.py and the tests).

The suite drives Canal's binaries (`canal`, `canal-testpeer`) against
independent peers (python `websockets`, kosoku). The binaries are looked up in
``$CANAL_BIN_DIR`` (default: ``<repo>/.build/debug``). Every test that needs
them carries ``@pytest.mark.needs_binaries(...)``; a missing binary makes that
test *fail* (never skip), so a run without a build cannot pass vacuously.

Everything listens on 127.0.0.1 with port 0, and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Coroutine

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN_DIR = REPO_ROOT / ".build" / "debug"

CANAL = "canal"
TESTPEER = "canal-testpeer"

LISTEN_RE = re.compile(r"Canal echo server listening on ws://127\.0\.0\.1:(\d+)/")

# How long `canal serve` may take to print its banner. Generous: a debug build
# on a loaded 2-core CI machine can be slow to start.
SERVER_START_TIMEOUT = 30.0


# --------------------------------------------------------------------------
# Binary lookup
# --------------------------------------------------------------------------


def bin_dir() -> Path:
    env = os.environ.get("CANAL_BIN_DIR")
    return Path(env).expanduser().resolve() if env else DEFAULT_BIN_DIR


def binary_path(name: str) -> Path:
    return bin_dir() / name


def require_binary(name: str) -> Path:
    """Return the path of a Canal binary, or FAIL the current test."""
    path = binary_path(name)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"required binary {name!r} not found at {path} "
            f"(build with `swift build --product {name}`, or set CANAL_BIN_DIR)",
            pytrace=False,
        )
    return path


# --------------------------------------------------------------------------
# Async helper: every test body runs under one overall deadline.
# --------------------------------------------------------------------------


def run_async(coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
    """Run `coro` in a fresh event loop, failing the test after `timeout` s."""

    async def bounded() -> Any:
        try:
            return await asyncio.wait_for(coro, timeout)
        except asyncio.TimeoutError:
            pytest.fail(f"test body exceeded its {timeout:.0f} s bound", pytrace=False)

    return asyncio.run(bounded())


def head_tail(text: str, head: int = 2500, tail: int = 2500) -> str:
    """Both ends of a long log: a crash's reason comes first in a Swift
    backtrace, the last events come last."""
    if len(text) <= head + tail:
        return text
    return f"{text[:head]}\n[... {len(text) - head - tail} characters cut ...]\n{text[-tail:]}"


# --------------------------------------------------------------------------
# Process management
# --------------------------------------------------------------------------


class _LineReader(threading.Thread):
    """Drains a pipe into a list of lines so the child never blocks on it."""

    def __init__(self, stream, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._stream = stream
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.eof = False

    def run(self) -> None:
        try:
            for raw in iter(self._stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._cond:
                    self.lines.append(line)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self.eof = True
                self._cond.notify_all()

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str] | None:
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                while seen < len(self.lines):
                    m = pattern.search(self.lines[seen])
                    seen += 1
                    if m:
                        return m
                remaining = deadline - time.monotonic()
                if self.eof or remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)


class ManagedProcess:
    """A child process whose stdout/stderr are drained by threads and which is
    always killed at teardown."""

    def __init__(self, argv: list[str], *, stdin: int | None = subprocess.DEVNULL,
                 cwd: str | os.PathLike[str] | None = None) -> None:
        self.argv = [str(a) for a in argv]
        self.proc = subprocess.Popen(
            self.argv,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
        )
        self.stdout = _LineReader(self.proc.stdout, f"stdout-{self.proc.pid}")
        self.stderr = _LineReader(self.proc.stderr, f"stderr-{self.proc.pid}")
        self.stdout.start()
        self.stderr.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Wait for exit; on timeout, kill the process and fail the test."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(
                f"{Path(self.argv[0]).name} (pid {self.pid}) did not exit within "
                f"{timeout:.0f} s\n{self.describe()}",
                pytrace=False,
            )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # Let the reader threads see EOF so they finish.
        self.stdout.join(timeout=2)
        self.stderr.join(timeout=2)

    def describe(self) -> str:
        return (
            f"argv: {' '.join(self.argv)}\nreturncode: {self.proc.poll()}\n"
            f"--- stdout ---\n{head_tail(self.stdout.text())}\n"
            f"--- stderr ---\n{head_tail(self.stderr.text())}"
        )


class CanalServer(ManagedProcess):
    """`canal serve --echo-only` on 127.0.0.1 with an OS-chosen port."""

    def __init__(self, exe: Path, extra_args: list[str]) -> None:
        super().__init__([exe, "serve", "--echo-only", "--host", "127.0.0.1", "--port", "0", *extra_args])
        m = self.stdout.wait_for(LISTEN_RE, SERVER_START_TIMEOUT)
        if m is None:
            self.kill()
            pytest.fail(
                f"`canal serve` did not print its listening line within "
                f"{SERVER_START_TIMEOUT:.0f} s\n{self.describe()}",
                pytrace=False,
            )
        self.port = int(m.group(1))
        assert 0 < self.port < 65536
        self.url = f"ws://127.0.0.1:{self.port}/"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        self.signal(sig)
        return self.wait(timeout)


# --------------------------------------------------------------------------
# canal-testpeer client driver (asyncio)
# --------------------------------------------------------------------------


class PeerError(AssertionError):
    pass


class AsyncTestPeer:
    """Drives `canal-testpeer client URL ...` over JSON lines (asyncio).

    Use as ``async with AsyncTestPeer.start(exe, url, ...) as peer:``; the
    process is killed on exit from the block if it is still running.
    """

    def __init__(self, proc: asyncio.subprocess.Process, argv: list[str]) -> None:
        self.proc = proc
        self.argv = argv
        self.events: list[dict[str, Any]] = []  # every event seen, in order
        self._stderr_chunks: list[bytes] = []
        self._stderr_task = asyncio.ensure_future(self._drain_stderr())

    @classmethod
    async def start(cls, exe: Path, url: str, *args: str) -> "AsyncTestPeer":
        argv = [str(exe), "client", url, *args]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=1 << 22,
        )
        return cls(proc, argv)

    async def __aenter__(self) -> "AsyncTestPeer":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.kill()

    async def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        while True:
            chunk = await self.proc.stderr.read(65536)
            if not chunk:
                return
            self._stderr_chunks.append(chunk)
            if sum(map(len, self._stderr_chunks)) > 1 << 20:
                del self._stderr_chunks[0]

    def stderr_text(self) -> str:
        return head_tail(b"".join(self._stderr_chunks).decode("utf-8", "replace"))

    def describe(self) -> str:
        return (
            f"argv: {' '.join(self.argv)}\nreturncode: {self.proc.returncode}\n"
            f"events so far: {json.dumps(self.events)[-4000:]}\n"
            f"--- stderr ---\n{self.stderr_text()}"
        )

    async def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        line = json.dumps(command, ensure_ascii=False) + "\n"
        self.proc.stdin.write(line.encode("utf-8"))
        try:
            await asyncio.wait_for(self.proc.stdin.drain(), 30)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise PeerError(f"peer stdin closed while sending {command.get('op')}: {exc}\n"
                            f"{self.describe()}") from exc

    async def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        if not self.proc.stdin.is_closing():
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.stdin.wait_closed(), 5)
            except (BrokenPipeError, ConnectionResetError):
                pass

    async def next_event(self, timeout: float = 15.0) -> dict[str, Any]:
        assert self.proc.stdout is not None
        try:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except asyncio.TimeoutError:
            raise PeerError(f"no event from canal-testpeer within {timeout:.0f} s\n"
                            f"{self.describe()}") from None
        if not raw:
            raise PeerError(f"canal-testpeer closed stdout (exited?)\n{self.describe()}")
        try:
            event = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise PeerError(f"canal-testpeer printed a non-JSON line {raw!r}: {exc}\n"
                            f"{self.describe()}") from None
        if not isinstance(event, dict) or "event" not in event:
            raise PeerError(f"event line without an 'event' key: {raw!r}")
        self.events.append(event)
        return event

    async def expect(self, name: str, timeout: float = 15.0,
                     allow: tuple[str, ...] = ("ping", "pong")) -> dict[str, Any]:
        """Return the next event named `name`. Events named in `allow` may come
        first and are skipped; anything else is a failure."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise PeerError(f"no {name!r} event within {timeout:.0f} s\n{self.describe()}")
            event = await self.next_event(remaining)
            if event["event"] == name:
                return event
            if event["event"] in allow:
                continue
            raise PeerError(f"expected a {name!r} event, got {event!r}\n{self.describe()}")

    async def wait(self, timeout: float = 15.0) -> int:
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            await self.kill()
            raise PeerError(f"canal-testpeer did not exit within {timeout:.0f} s\n"
                            f"{self.describe()}") from None

    async def kill(self) -> None:
        if self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                pass
        try:
            await asyncio.wait_for(self._stderr_task, 2)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            self._stderr_task.cancel()



# --------------------------------------------------------------------------
# Raw HTTP / WebSocket framing over a plain asyncio TCP stream
# --------------------------------------------------------------------------

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


class HTTPResponse:
    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], raw: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.raw = raw

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self) -> str:
        return f"HTTPResponse({self.raw[:500]!r})"


async def read_http_response(reader: asyncio.StreamReader, timeout: float = 10.0) -> HTTPResponse:
    """Read a status line and headers (not the body)."""
    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    head = raw.decode("iso-8859-1")
    lines = head.split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})(?: (.*))?$", lines[0])
    if not m:
        raise AssertionError(f"not an HTTP status line: {lines[0]!r}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return HTTPResponse(int(m.group(1)), m.group(2) or "", headers, raw)


async def open_tcp(port: int, timeout: float = 10.0) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)


def upgrade_request(port: int, key: str, *, path: str = "/", version: str = "13",
                    extra: str = "") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: {version}\r\n"
        f"{extra}"
        "\r\n"
    ).encode("ascii")


async def raw_handshake(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TCP connection and perform the opening handshake by hand."""
    reader, writer = await open_tcp(port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(upgrade_request(port, key))
    await writer.drain()
    resp = await read_http_response(reader)
    assert resp.status == 101, f"expected 101, got {resp!r}"
    assert resp.header("Sec-WebSocket-Accept") == accept_key(key), resp
    assert (resp.header("Upgrade") or "").lower() == "websocket", resp
    assert "upgrade" in (resp.header("Connection") or "").lower(), resp
    return reader, writer


OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def build_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, mask: bool = True,
                rsv: int = 0, length_override: int | None = None) -> bytes:
    """Encode one frame. Client frames are masked unless mask=False."""
    b0 = (0x80 if fin else 0) | ((rsv & 0x7) << 4) | (opcode & 0xF)
    n = len(payload) if length_override is None else length_override
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, mbit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def close_payload(code: int | None, reason: str = "") -> bytes:
    if code is None:
        return b""
    return code.to_bytes(2, "big") + reason.encode("utf-8")


class Frame:
    def __init__(self, fin: bool, rsv: int, opcode: int, masked: bool, payload: bytes):
        self.fin, self.rsv, self.opcode, self.masked, self.payload = fin, rsv, opcode, masked, payload

    @property
    def close_code(self) -> int | None:
        assert self.opcode == OP_CLOSE
        return int.from_bytes(self.payload[:2], "big") if len(self.payload) >= 2 else None

    def __repr__(self) -> str:
        return (f"Frame(fin={self.fin}, rsv={self.rsv}, opcode={self.opcode:#x}, "
                f"masked={self.masked}, payload={self.payload[:64]!r}{'...' if len(self.payload) > 64 else ''})")


async def read_frame(reader: asyncio.StreamReader, timeout: float = 10.0) -> Frame:
    async def go() -> Frame:
        b0, b1 = await reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(await reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await reader.readexactly(8), "big")
        masked = bool(b1 & 0x80)
        key = await reader.readexactly(4) if masked else b""
        payload = await reader.readexactly(n)
        if masked:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return Frame(bool(b0 & 0x80), (b0 >> 4) & 0x7, b0 & 0xF, masked, payload)

    return await asyncio.wait_for(go(), timeout)


async def read_until_eof(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """Read until the peer closes the connection (EOF or reset)."""
    data = bytearray()

    async def go() -> None:
        while True:
            try:
                chunk = await reader.read(65536)
            except (ConnectionResetError, BrokenPipeError):
                return
            if not chunk:
                return
            data.extend(chunk)

    await asyncio.wait_for(go(), timeout)
    return bytes(data)


def close_writer(writer: asyncio.StreamWriter) -> None:
    try:
        writer.close()
    except Exception:
        pass
