"""Helpers for the `canal` command-line tests.

The binary is looked up in ``$CANAL_BIN_DIR`` (default ``<repo>/.build/debug``,
computed from this file's location). A missing binary FAILS the test, never
skips it. Everything listens on 127.0.0.1 with port 0, every wait is bounded,
and every process a test starts is killed at teardown.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN_DIR = REPO_ROOT / ".build" / "debug"

# A debug build on a loaded 2-core machine can be slow to start.
START_TIMEOUT = 30.0
# How long one canal run in a test may take, start to exit.
RUN_TIMEOUT = 40.0

ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
LISTENING_RE = re.compile(r"Listening on port (\d+)")
SERVE_RE = re.compile(r"Canal demo server listening on http://127\.0\.0\.1:(\d+)/")


def bin_dir() -> Path:
    env = os.environ.get("CANAL_BIN_DIR")
    return Path(env).expanduser().resolve() if env else DEFAULT_BIN_DIR


def canal_path() -> Path:
    """The `canal` binary, or FAIL the current test."""
    path = bin_dir() / "canal"
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"the canal binary is missing at {path} (build it with "
            "`swift build --product canal`, or set CANAL_BIN_DIR)",
            pytrace=False,
        )
    return path


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env.setdefault("SWIFT_BACKTRACE", "enable=no")
    env.update(extra)
    return env


# --------------------------------------------------------------------------
# Running canal
# --------------------------------------------------------------------------


class Result:
    def __init__(self, argv: list[str], returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stdout_bytes = stdout
        self.stdout = stdout.decode("utf-8", "replace")
        self.stderr = stderr.decode("utf-8", "replace")

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def __repr__(self) -> str:
        return (f"argv: {shlex.join(self.argv)}\nreturncode: {self.returncode}\n"
                f"--- stdout ---\n{self.stdout[-3000:]}\n--- stderr ---\n{self.stderr[-3000:]}")


def run_canal(*args: Any, input: bytes | str | None = b"", timeout: float = RUN_TIMEOUT,
              env: dict[str, str] | None = None) -> Result:
    """Runs canal to completion with pipes on all three streams."""
    argv = [str(canal_path()), *map(str, args)]
    if isinstance(input, str):
        input = input.encode()
    try:
        done = subprocess.run(argv, input=input, capture_output=True, timeout=timeout,
                              env=env or child_env())
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{shlex.join(argv)} did not exit within {timeout:.0f} s\n"
                    f"stdout: {exc.stdout!r}\nstderr: {exc.stderr!r}", pytrace=False)
    return Result(argv, done.returncode, done.stdout, done.stderr)


class _Lines(threading.Thread):
    """Drains a pipe into lines, so the child never blocks on a full pipe."""

    def __init__(self, stream, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.stream = stream
        self.lines: list[str] = []
        self.consumed = 0  # lines already matched or passed over by wait_for
        self.eof = False
        self.cond = threading.Condition()

    def run(self) -> None:
        try:
            for raw in iter(self.stream.readline, b""):
                with self.cond:
                    self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                    self.cond.notify_all()
        finally:
            with self.cond:
                self.eof = True
                self.cond.notify_all()

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float) -> re.Match[str] | None:
        """The next line matching `pattern`, after the lines earlier calls went past."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                while self.consumed < len(self.lines):
                    m = regex.search(self.lines[self.consumed])
                    self.consumed += 1
                    if m:
                        return m
                remaining = deadline - time.monotonic()
                if self.eof or remaining <= 0:
                    return None
                self.cond.wait(remaining)

    def wait_for_all(self, patterns: list[str], timeout: float) -> bool:
        """Waits until every pattern has matched some line, in any order, from the
        lines not yet gone past; then goes past the last line that matched."""
        regexes = [re.compile(p) for p in patterns]
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [next((i for i in range(self.consumed, len(self.lines)) if r.search(self.lines[i])), None)
                         for r in regexes]
                if all(i is not None for i in found):
                    self.consumed = max(found) + 1
                    return True
                remaining = deadline - time.monotonic()
                if self.eof or remaining <= 0:
                    return False
                self.cond.wait(remaining)

    def text(self) -> str:
        with self.cond:
            return "\n".join(self.lines)


class CanalProcess:
    """canal running in the background with pipes; killed at teardown."""

    def __init__(self, args: list[Any], env: dict[str, str] | None = None) -> None:
        self.argv = [str(canal_path()), *map(str, args)]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env or child_env())
        self.stdout = _Lines(self.proc.stdout, "stdout")
        self.stderr = _Lines(self.proc.stderr, "stderr")
        self.stdout.start()
        self.stderr.start()

    def send_line(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass

    def expect_stdout(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        m = self.stdout.wait_for(pattern, timeout)
        if m is None:
            pytest.fail(f"no stdout line matching {pattern!r} within {timeout:.0f} s\n{self}",
                        pytrace=False)
        return m

    def expect_stderr(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        m = self.stderr.wait_for(pattern, timeout)
        if m is None:
            pytest.fail(f"no stderr line matching {pattern!r} within {timeout:.0f} s\n{self}",
                        pytrace=False)
        return m

    def expect_stderr_all(self, patterns: list[str], timeout: float = 15.0) -> None:
        if not self.stderr.wait_for_all(patterns, timeout):
            pytest.fail(f"not every one of {patterns!r} on stderr within {timeout:.0f} s\n{self}",
                        pytrace=False)

    def wait(self, timeout: float = 15.0) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"canal did not exit within {timeout:.0f} s\n{self}", pytrace=False)
        self.stdout.join(2)
        self.stderr.join(2)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.close_stdin()
        self.stdout.join(2)
        self.stderr.join(2)

    def __repr__(self) -> str:
        return (f"argv: {shlex.join(self.argv)}\nreturncode: {self.proc.poll()}\n"
                f"--- stdout ---\n{self.stdout.text()[-3000:]}\n"
                f"--- stderr ---\n{self.stderr.text()[-3000:]}")


# --------------------------------------------------------------------------
# An independent server: python `websockets`, in a thread with its own loop
# --------------------------------------------------------------------------

Handler = Callable[[Any], Awaitable[None]]


class PyServer:
    """A python `websockets` server on 127.0.0.1.

    The default handler echoes every message and records what arrived
    (`received`) and the close code and reason each client sent (`closes`).
    """

    def __init__(self, handler: Handler | None = None, *, process_request=None,
                 port: int = 0, subprotocols: list[str] | None = None, ssl: Any = None) -> None:
        self.handler = handler or self.echo
        self.process_request = process_request
        self.requested_port = port
        self.subprotocols = subprotocols
        self.ssl = ssl
        self.received: list[str | bytes] = []
        self.closes: list[tuple[int | None, str | None]] = []
        self.requests: list[Any] = []
        self.connections: list[Any] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pyserver", daemon=True)
        self.server: Any = None
        self.port = 0

    def start(self) -> "PyServer":
        from websockets.asyncio.server import serve

        self.thread.start()

        async def open_server():
            return await serve(self._handle, "127.0.0.1", self.requested_port,
                               process_request=self._process_request, ping_interval=None,
                               subprotocols=self.subprotocols, compression=None, ssl=self.ssl)

        self.server = self.call(open_server())
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def call(self, coro: Awaitable[Any], timeout: float = 15.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _process_request(self, connection, request):
        self.requests.append(request)
        if self.process_request is None:
            return None
        return self.process_request(connection, request)

    async def _handle(self, ws) -> None:
        self.connections.append(ws)
        try:
            await self.handler(ws)
        finally:
            await ws.wait_closed()
            self.closes.append((ws.close_code, ws.close_reason))

    async def echo(self, ws) -> None:
        from websockets.exceptions import ConnectionClosed

        # Messages that arrived before the client's close are still recorded when the
        # echo can no longer be sent.
        async for message in ws:
            self.received.append(message)
            try:
                await ws.send(message)
            except ConnectionClosed:
                pass

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                pytest.fail(f"python server: {what or 'condition'} not reached within {timeout:.0f} s; "
                            f"received={self.received!r} closes={self.closes!r}", pytrace=False)
            time.sleep(0.02)

    def stop(self) -> None:
        """Closes the listening socket and every connection (1001), and the loop."""
        if self.server is not None:
            async def close():
                self.server.close()
                await self.server.wait_closed()
            try:
                self.call(close(), timeout=15)
            except Exception:
                pass
            self.server = None
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


def respond(connection, status: HTTPStatus, body: str, **headers: str):
    """A `process_request` response with extra headers."""
    response = connection.respond(status, body)
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


# --------------------------------------------------------------------------
# tmux: the tool as a person uses it, on a real terminal
# --------------------------------------------------------------------------


class Tmux:
    """A private tmux server (its own socket, no user configuration)."""

    def __init__(self, name: str) -> None:
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed (apt-get install -y tmux)", pytrace=False)
        self.socket = name
        self.sessions: list[str] = []

    def _tmux(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(["tmux", "-f", "/dev/null", "-L", self.socket, *args],
                              capture_output=True, timeout=15, env=child_env(TERM="xterm-256color"))
        if check and done.returncode != 0:
            pytest.fail(f"tmux {' '.join(args)} failed: {done.stderr.decode()}", pytrace=False)
        return done.stdout.decode("utf-8", "replace")

    def start(self, session: str, argv: list[Any], width: int = 120, height: int = 40) -> None:
        """Runs argv in a new session; when it exits the pane shows `EXIT=<code>`."""
        command = shlex.join(map(str, argv)) + "; echo EXIT=$?; sleep 600"
        self._tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height),
                   "sh", "-c", command)
        self.sessions.append(session)

    def type(self, session: str, text: str, enter: bool = True) -> None:
        self._tmux("send-keys", "-t", session, "-l", text)
        if enter:
            self._tmux("send-keys", "-t", session, "Enter")

    def keys(self, session: str, *keys: str) -> None:
        self._tmux("send-keys", "-t", session, *keys)

    def screen(self, session: str, colors: bool = False) -> str:
        args = ["capture-pane", "-p", "-J", "-t", session]
        if colors:
            args.insert(2, "-e")
        return self._tmux(*args)

    def wait_for(self, session: str, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(session)
            m = regex.search(screen)
            if m:
                return m
            if time.monotonic() > deadline:
                pytest.fail(f"tmux session {session}: no {pattern!r} on screen within "
                            f"{timeout:.0f} s; the screen shows:\n{screen}", pytrace=False)
            time.sleep(0.1)

    def kill(self) -> None:
        """Ends every session (their processes get SIGHUP) and removes the socket."""
        self._tmux("kill-server", check=False)
        directory = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (directory / self.socket).unlink(missing_ok=True)
