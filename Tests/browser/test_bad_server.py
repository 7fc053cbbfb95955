"""Our browser client against a server that misbehaves (bad_server.py): every case ends in
`connect_error` or `disconnect` with a reason, and never in an uncaught error in the page."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from selenium import webdriver

from browser_support import CLIENT, HERE, read_line

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def bad_server() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "bad_server.py"), "--port", "0", "--client-js", str(CLIENT)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    line = read_line(process, time.monotonic() + 15).decode()
    assert line.startswith("listening on http://127.0.0.1:"), line
    yield line.split(" ", 2)[2].strip().rstrip("/")
    process.terminate()
    process.wait(5)


def run_bad(browser: webdriver.Chrome, base: str, mode: str, transports: list[str]) -> dict:
    if browser.current_url != base + "/bad.html":
        browser.get(base + "/bad.html")
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.runBad(arguments[0], arguments[1]).then(done);",
        mode, transports,
    )


@pytest.mark.parametrize(
    "mode, transports, expected",
    [
        ("malformed-socketio", ["websocket"], [["connect"], ["disconnect", "parse error"]]),
        ("malformed-engineio", ["websocket"], [["connect_error", "parse error"]]),
        ("bad-handshake", ["polling"], [["connect_error", "parse error"]]),
        ("silent", ["websocket"], [["connect_error", "timeout"]]),
    ],
)
def test_client_reports_bad_servers_as_events(bad_server: str, browser: webdriver.Chrome, mode, transports,
                                               expected) -> None:
    outcome = run_bad(browser, bad_server, mode, transports)
    assert outcome["pageErrors"] == []
    assert outcome["seen"] == expected


def test_client_dropped_in_the_middle_of_an_upgrade_disconnects_with_a_reason(
    bad_server: str, browser: webdriver.Chrome
) -> None:
    outcome = run_bad(browser, bad_server, "drop-mid-upgrade", ["polling", "websocket"])
    assert outcome["pageErrors"] == []
    assert outcome["seen"][0] == ["connect"]
    assert outcome["seen"][1][0] == "disconnect"
    assert outcome["seen"][1][1] in ("transport error", "transport close")
