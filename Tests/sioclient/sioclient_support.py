"""Drive canal-sio-testclient (CanalSocketIOClient behind JSON lines) and the peers around it.

- ``SwiftClient``: the test client as a subprocess; ``send`` a command, ``wait`` for an output line.
- ``TcpProxy``: a TCP relay between the client and a server that a test can cut, to drop
  connections under the client without stopping the server.

Everything listens on 127.0.0.1 with free ports, every wait is bounded, and every process
and thread is stopped at teardown.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "Tests" / "socketio"))

from sioserver import Server, free_port  # noqa: E402,F401

# The Swift client's transports for each mode of Tests/socketio.
TRANSPORTS = {
    "polling": {"transports": ["polling"], "upgrade": False},
    "websocket": {"transports": ["websocket"]},
    "upgrade": {"transports": ["polling", "websocket"], "upgrade": True},
}


def bin_dir() -> Path:
    env = os.environ.get("CANAL_BIN_DIR")
    return Path(env).resolve() if env else REPO / ".build" / "debug"


def binary(name: str) -> Path:
    path = bin_dir() / name
    if not path.is_file():
        raise AssertionError(f"{path} is missing: build it first (swift build --build-tests)")
    return path


class SwiftClient:
    """canal-sio-testclient; ``lines`` holds every JSON line it printed."""

    def __init__(self) -> None:
        env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
        self.proc = subprocess.Popen([str(binary("canal-sio-testclient"))], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.lines: list[dict] = []
        self.stderr: list[str] = []
        self.cond = threading.Condition()
        self.taken: set[int] = set()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self.wait("ready", timeout=30)
        self._counter = 0

    def _read(self) -> None:
        for raw in iter(self.proc.stdout.readline, b""):
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"type": "garbage", "text": raw.decode("utf-8", "replace")}
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.lines.append({"type": "exited"})
            self.cond.notify_all()

    def _read_stderr(self) -> None:
        for raw in iter(self.proc.stderr.readline, b""):
            self.stderr.append(raw.decode("utf-8", "replace"))

    def send(self, op: str, **fields) -> None:
        command = dict(op=op, **fields)
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        self.proc.stdin.flush()

    def manager(self, url: str, mode: str, id: str = "m", reconnection: bool = False, **options) -> str:
        self.send("manager", id=id, url=url, reconnection=reconnection, **TRANSPORTS[mode], **options)
        return id

    def socket(self, id: str = "s", manager: str = "m", namespace: str | None = None, auth=None) -> str:
        fields = {"id": id, "manager": manager}
        if namespace is not None:
            fields["namespace"] = namespace
        if auth is not None:
            fields["auth"] = auth
        self.send("socket", **fields)
        return id

    def emit(self, socket: str, event: str, *args, volatile: bool = False) -> None:
        self.send("emit", socket=socket, event=event, args=list(args), volatile=volatile)

    def call(self, socket: str, event: str, *args, timeout_ms: int | None = None, wait: float = 10.0) -> dict:
        """emitWithAck; returns the ack line ({"ok": true, "args": [...]} or the error)."""
        self._counter += 1
        tag = f"t{self._counter}"
        fields = {"socket": socket, "event": event, "args": list(args), "tag": tag}
        if timeout_ms is not None:
            fields["timeout_ms"] = timeout_ms
        self.send("emit-ack", **fields)
        return self.wait("ack", timeout=wait, tag=tag)

    def _matches(self, line: dict, type: str, fields: dict) -> bool:
        return line.get("type") == type and all(line.get(k) == v for k, v in fields.items())

    def wait(self, type: str, timeout: float = 10.0, **fields) -> dict:
        """The first line of this type (and these fields) that no earlier wait returned."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for index in range(len(self.lines)):
                    if index not in self.taken and self._matches(self.lines[index], type, fields):
                        self.taken.add(index)
                        return self.lines[index]
                left = deadline - time.monotonic()
                if left <= 0 or (self.lines and self.lines[-1].get("type") == "exited"):
                    raise AssertionError(f"no {type} {fields} line within {timeout} s; lines:\n"
                                         + "\n".join(json.dumps(l) for l in self.lines[-40:])
                                         + "\nstderr:\n" + "".join(self.stderr[-20:]))
                self.cond.wait(left)

    def event(self, name: str, socket: str = "s", timeout: float = 10.0) -> list:
        """The arguments of the next event `name`."""
        return self.wait("event", timeout=timeout, socket=socket, name=name)["args"]

    def all(self, type: str, **fields) -> list[dict]:
        with self.cond:
            return [l for l in self.lines if self._matches(l, type, fields)]

    def settle(self, type: str, count: int, timeout: float = 10.0, **fields) -> list[dict]:
        """Waits until `count` lines of this type exist (counting from the start)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [l for l in self.lines if self._matches(l, type, fields)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} of {count} {type} {fields} lines within {timeout} s:\n"
                                         + "\n".join(json.dumps(l) for l in self.lines[-40:]))
                self.cond.wait(left)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def binary_value(data: bytes) -> dict:
    """A binary argument in the test client's JSON lines."""
    return {"$binary": data.hex()}


class TcpProxy:
    """Relays 127.0.0.1:port to a target port. ``cut()`` drops every connection and refuses
    new ones (accepts and closes them) until ``restore()``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.writers: set[asyncio.StreamWriter] = set()
        self.refusing = False
        self.stalled = False
        self.server = None
        self.port = 0

    def start(self) -> "TcpProxy":
        self.thread.start()
        self.server = self._call(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    async def _handle(self, reader, writer) -> None:
        if self.refusing:
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.writers.update((writer, upstream_writer))

        async def pipe(source, sink):
            try:
                while data := await source.read(65536):
                    if self.stalled:
                        continue  # the network swallows it: nothing arrives, nothing fails
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self.writers.discard(writer)
        self.writers.discard(upstream_writer)

    def cut(self) -> None:
        async def cut():
            self.refusing = True
            for writer in list(self.writers):
                transport = writer.transport
                if transport is not None:
                    transport.abort()
            self.writers.clear()
        self._call(cut())

    def stall(self) -> None:
        """Keeps the connections open but drops what goes through them, both ways."""
        async def stall():
            self.stalled = True
        self._call(stall())

    def restore(self) -> None:
        async def restore():
            self.refusing = False
            self.stalled = False
        self._call(restore())

    def stop(self) -> None:
        async def stop():
            self.server.close()
            for writer in list(self.writers):
                if writer.transport is not None:
                    writer.transport.abort()
            # The relays end by themselves once their connections are gone.
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            if pending:
                await asyncio.wait(pending, timeout=2)
        try:
            self._call(stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
