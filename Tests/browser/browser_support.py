"""Helpers for the browser suite: start the Socket.IO test servers, drive headless Chromium.

The Canal binaries are looked up in ``$CANAL_BIN_DIR`` (default ``<repo>/.build/debug``). A
missing binary FAILS the tests that need it; nothing is skipped.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLIENT = REPO / "Clients" / "js" / "socket.io.js"
PAGES = HERE / "pages"
REFERENCE = Path(os.environ.get("CANAL_SIO_REFERENCE", REPO / "Tests" / "socketio" / "reference_server.py"))
IMPLEMENTATIONS = ["python", "canal"]


def bin_dir() -> Path:
    return Path(os.environ.get("CANAL_BIN_DIR", REPO / ".build" / "debug"))


def find_executable(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError(f"none of {names} is installed: apt-get install -y chromium chromium-driver")


def make_static(root: Path) -> Path:
    """The test pages plus our client, as the folder a server serves with --static."""
    static = root / "static"
    shutil.copytree(PAGES, static)
    shutil.copy(CLIENT, static / "socket.io.js")
    return static


def server_command(impl: str, port: int, static: Path, extra: list[str]) -> list[str]:
    if impl == "python":
        if not REFERENCE.is_file():
            raise AssertionError(f"{REFERENCE} is missing")
        return [sys.executable, str(REFERENCE), "--port", str(port), "--static", str(static),
                "--client-js", str(CLIENT), *extra]
    exe = bin_dir() / "canal-sio-testserver"
    if not exe.is_file():
        raise AssertionError(f"{exe} is missing: build it first (swift build) or set CANAL_BIN_DIR")
    return [str(exe), "--port", str(port), "--static", str(static), *extra]


class Server:
    """A running Socket.IO test server (either implementation); restartable on its port."""

    def __init__(self, impl: str, static: Path, log_path: Path, extra: list[str] | None = None):
        self.impl = impl
        self.static = static
        self.log_path = log_path
        self.extra = extra or []
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "Server":
        command = server_command(self.impl, self.port, self.static, self.extra)
        deadline = time.monotonic() + timeout
        while True:
            log = open(self.log_path, "ab")
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                env={**os.environ, "SWIFT_BACKTRACE": "enable=no", "PYTHONUNBUFFERED": "1"},
            )
            log.close()
            line = read_line(self.process, deadline)
            match = re.search(rb"listening on http://127\.0\.0\.1:(\d+)/", line)
            if match:
                self.port = int(match.group(1))
                return self
            self.process.kill()
            self.process.wait()
            # A restart on the same port may race the old socket's release: try again.
            if self.port and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            raise AssertionError(f"{command[0]} did not start: {line!r}\n{self.log()[-3000:]}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if process.stdout:
            process.stdout.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def read_line(process: subprocess.Popen, deadline: float) -> bytes:
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
        elif process.poll() is not None:
            break
    return line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = find_executable("chromium", "chromium-browser", "google-chrome")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-proxy-server",  # talk to 127.0.0.1 directly, whatever the environment says
        "--window-size=1024,768",
        # Keep timers of windows that are not in front running at full speed (chat test).
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(find_executable("chromedriver")), options=options)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(30)
    return driver


def run_check(driver: webdriver.Chrome, name: str, args: dict | None = None) -> dict:
    """Runs one check of pages/checks.js and returns what it observed; fails on an error in
    the check or an uncaught error in the page."""
    outcome = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.runCheck(arguments[0], arguments[1]).then(done, (e) => done({ok: false, error: String(e), pageErrors: []}));",
        name,
        args or {},
    )
    assert outcome["ok"], f"check {name} failed: {outcome.get('error')}"
    assert outcome["pageErrors"] == [], f"uncaught errors in the page: {outcome['pageErrors']}"
    assert "cleanupError" not in outcome, outcome["cleanupError"]
    return outcome["result"]


class DemoServer:
    """`canal serve` (the demo site), with its standard output (the examples' console)
    collected line by line, so that nothing it prints can fill the pipe and stall it."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.lines: list[str] = []
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "DemoServer":
        import threading

        exe = bin_dir() / "canal"
        if not exe.is_file():
            raise AssertionError(f"{exe} is missing: build it first (swift build) or set CANAL_BIN_DIR")
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(exe), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
            env={**os.environ, "SWIFT_BACKTRACE": "enable=no"},
        )
        log.close()
        line = read_line(self.process, time.monotonic() + timeout)
        match = re.search(rb"listening on http://127\.0\.0\.1:(\d+)/", line)
        if not match:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"canal serve did not start: {line!r}\n{self.log_path.read_text(errors='replace')}")
        self.port = int(match.group(1))

        def drain(stream) -> None:
            for raw in iter(stream.readline, b""):
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))

        threading.Thread(target=drain, args=(self.process.stdout,), daemon=True).start()
        return self

    def wait_for_line(self, pattern: str, timeout: float = 10.0, count: int = 1) -> list[str]:
        """The console lines matching `pattern`, once there are `count` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in list(self.lines) if re.search(pattern, line)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} x {pattern!r} not printed within {timeout}s; console: {self.lines[-30:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


SCREENSHOTS = Path(os.environ.get("CANAL_ARTIFACTS", REPO / "reports")) / "screenshots"


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """Saves what the window shows as reports/screenshots/NAME.png (a test artifact, not
    committed: reports/ is ignored by git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    return path
