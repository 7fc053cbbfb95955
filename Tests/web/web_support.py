"""Helpers for the web server suite: start ``canal serve``, speak raw HTTP.

The binary is looked up in ``$CANAL_BIN_DIR`` (default ``<repo>/.build/debug``). A
missing binary FAILS the tests that need it; nothing is skipped silently.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO = "canal"
SITE = REPO / "Demo" / "Site" / "public"


def bin_dir() -> Path:
    return Path(os.environ.get("CANAL_BIN_DIR", REPO / ".build" / "debug"))


def binary(name: str) -> Path:
    path = bin_dir() / name
    if not path.is_file():
        raise AssertionError(f"{path} is missing: build it first (swift build) or set CANAL_BIN_DIR")
    return path


@dataclass
class DemoServer:
    """A running `canal serve`; stop() ends it (SIGTERM, then SIGKILL)."""

    process: subprocess.Popen
    port: int
    scheme: str
    log_path: Path
    stopped: bool = field(default=False)

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 5.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log())
            if match:
                return match
            time.sleep(0.05)
        raise AssertionError(f"no log line matching {pattern!r} within {timeout}s:\n{self.log()[-3000:]}")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()


def start_demo(args: list[str], log_path: Path, startup_timeout: float = 30.0) -> DemoServer:
    """Starts the demo on 127.0.0.1 with a free port and waits for its 'listening on' line."""
    exe = binary(DEMO)
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "SWIFT_BACKTRACE": "enable=no"},
    )
    log.close()
    deadline = time.monotonic() + startup_timeout
    line = b""
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(process.stdout.fileno(), 1)
            if not chunk:
                break
            line += chunk
            if chunk == b"\n":
                break
        if process.poll() is not None:
            break
    match = re.match(rb"Canal demo server listening on (https?)://127\.0\.0\.1:(\d+)/", line)
    if not match:
        process.kill()
        process.wait()
        raise AssertionError(f"server did not start: {line!r}\n{log_path.read_text(errors='replace')}")
    return DemoServer(process, int(match.group(2)), match.group(1).decode(), log_path)


def make_site(root: Path) -> Path:
    """Copies the demo site into ``root/public`` and plants what the escape tests need:
    a secret outside the folder, symbolic links leading out, a dotfile, a large file."""
    public = root / "public"
    shutil.copytree(SITE, public)
    (root / "secret.txt").write_text("TOP-SECRET-OUTSIDE-THE-FOLDER\n")
    (public / ".env").write_text("TOP-SECRET-DOTFILE\n")
    (public / "escape-link").symlink_to("../secret.txt")
    (public / "etc-link").symlink_to("/etc")
    (public / "inside-link.html").symlink_to("test.html")
    (public / "docs").mkdir()
    (public / "docs" / "index.html").write_text("<!DOCTYPE html><title>docs</title><p>docs index</p>\n")
    # 8 MiB of a repeating, position-dependent pattern: any misplaced byte shows.
    pattern = bytes(range(256)) * 4096
    with open(public / "large.bin", "wb") as out:
        for block in range(8):
            out.write(bytes([block]) + pattern[1:])
    return public


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: dict[str, str]
    header_list: list[tuple[str, str]]
    body: bytes


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_response(sock: socket.socket, buffer: bytearray, head_request: bool = False) -> RawResponse:
    """Reads one response from ``sock``; leftover bytes stay in ``buffer``."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a complete head: {bytes(buffer[:200])!r}")
        buffer += chunk
    end = buffer.index(b"\r\n\r\n")
    head = bytes(buffer[:end]).decode("latin-1")
    del buffer[: end + 4]
    lines = head.split("\r\n")
    version, status, *reason = lines[0].split(" ", 2)
    assert version in ("HTTP/1.1", "HTTP/1.0"), lines[0]
    header_list = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        header_list.append((name.strip(), value.strip()))
    headers = {name.lower(): value for name, value in header_list}
    code = int(status)
    length = 0
    if not head_request and code not in (204, 304) and code >= 200:
        length = int(headers.get("content-length", "0"))
    while len(buffer) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the middle of a body")
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return RawResponse(code, reason[0] if reason else "", headers, header_list, body)


def raw_request(port: int, data: bytes, timeout: float = 5.0, head_request: bool = False) -> RawResponse:
    """Sends ``data`` as is on a new connection and reads one response."""
    with connect(port, timeout) as sock:
        sock.sendall(data)
        return read_response(sock, bytearray(), head_request=head_request)


def get(port: int, target: str, headers: dict[str, str] | None = None, method: str = "GET") -> RawResponse:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return raw_request(port, request, head_request=(method == "HEAD"))


def wait_closed(sock: socket.socket, timeout: float) -> float | None:
    """Seconds until the peer closes ``sock`` (reading and dropping data), or None."""
    start = time.monotonic()
    sock.settimeout(0.1)
    while time.monotonic() - start < timeout:
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
    return None
