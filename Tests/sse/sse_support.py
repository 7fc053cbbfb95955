"""Helpers for the server-sent events suite: start canal-sse-testserver and canal serve,
run ``canal sse``, drive headless Chromium, build the sseload subscriber client.

Binaries come from ``$CANAL_BIN_DIR`` (default ``<repo>/.build/debug``); a missing one
FAILS the tests that need it.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"


def bin_dir() -> Path:
    return Path(os.environ.get("CANAL_BIN_DIR", REPO / ".build" / "debug"))


def binary(name: str) -> Path:
    path = bin_dir() / name
    if not path.is_file():
        raise AssertionError(f"{path} is missing: build it first (swift build) or set CANAL_BIN_DIR")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A server started from a command that prints 'listening on http://127.0.0.1:PORT/'."""

    def __init__(self, command: list[str], log_path: Path, pattern: bytes, timeout: float = 30.0):
        self.log_path = log_path
        log = open(log_path, "ab")
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
            env={**os.environ, "SWIFT_BACKTRACE": "enable=no"},
        )
        log.close()
        line = b""
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 1)
                if not chunk:
                    break
                line += chunk
            if self.process.poll() is not None:
                break
        match = re.search(pattern, line)
        if not match:
            self.kill()
            raise AssertionError(f"server did not start: {line!r}\n{self.log()}")
        self.port = int(match.group(1))

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


def start_testserver(log_path: Path, *args: str, port: int = 0) -> Process:
    command = [str(binary("canal-sse-testserver")), "--port", str(port), *args]
    return Process(command, log_path, rb"listening on https?://127\.0\.0\.1:(\d+)/")


def start_demo(log_path: Path, *args: str) -> Process:
    command = [str(binary("canal")), "serve", "--host", "127.0.0.1", "--port", "0", *args]
    return Process(command, log_path, rb"Canal demo server listening on https?://127\.0\.0\.1:(\d+)/")


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def canal_sse(*args: str, timeout: float = 20.0, input: bytes | None = None) -> subprocess.CompletedProcess:
    """Runs ``canal sse ARGS`` to the end and returns what it printed."""
    return subprocess.run(
        [str(binary("canal")), "sse", *args], capture_output=True, timeout=timeout,
        stdin=subprocess.DEVNULL if input is None else None, input=input,
        env={**os.environ, "SWIFT_BACKTRACE": "enable=no", "NO_COLOR": ""},
    )


def json_lines(output: bytes) -> list[dict]:
    return [json.loads(line) for line in output.decode().splitlines() if line.strip()]


def chromium():
    """Headless Chromium through chromedriver, as Tests/web does."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    def find(*names: str) -> str:
        for name in names:
            path = shutil.which(name)
            if path:
                return path
        raise AssertionError(f"none of {names} is installed: apt-get install -y chromium chromium-driver")

    options = webdriver.ChromeOptions()
    options.binary_location = find("chromium", "chromium-browser", "google-chrome")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-proxy-server", "--window-size=1280,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(find("chromedriver")), options=options)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(30)
    return driver


def build_sseload(folder: Path) -> Path:
    """Compiles bench/sse/sseload.c (the C subscriber client) into ``folder``."""
    output = folder / "sseload"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(output), str(REPO / "bench" / "sse" / "sseload.c"), "-lm"],
                   check=True, timeout=120)
    return output
