"""Resumption: the server is restarted in the middle of a stream; the client reconnects,
sends Last-Event-ID, and receives every later event exactly once. ``/count`` numbers its
events 1..N and starts after the Last-Event-ID it is sent, so the new process continues
where the old one stopped. Checked with Chromium's EventSource and with our Swift client
(``canal sse``), after a graceful stop (SIGTERM: the response ends cleanly) and a kill
(SIGKILL: the connection drops, maybe in the middle of an event)."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from sse_support import binary, free_port, json_lines, start_testserver

TOTAL = 30


COLLECT = """
const done = arguments[arguments.length - 1];
window.received = [];
window.source = new EventSource(arguments[0]);
window.source.addEventListener("tick", (event) => window.received.push([event.data, event.lastEventId]));
done(true);
"""


@pytest.mark.browser
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["graceful", "killed"])
def test_chromium_resumes_after_a_restart_exactly_once(browser, tmp_path: Path, stop_signal: int) -> None:
    port = free_port()

    def count() -> int:
        return browser.execute_script("return window.received ? window.received.length : 0")

    first = start_testserver(tmp_path / "first.log", "--retry", "200", port=port)
    browser.get(first.base + "/stats")
    browser.execute_async_script(COLLECT, f"/count?n={TOTAL}&interval=100")
    deadline = time.monotonic() + 15
    while count() < 8:
        assert time.monotonic() < deadline, "no events before the restart"
        time.sleep(0.02)
    first.stop(stop_signal)
    second = start_testserver(tmp_path / "second.log", "--retry", "200", port=port)
    try:
        deadline = time.monotonic() + 25
        while count() < TOTAL or browser.execute_script("return window.source.readyState") != 2:
            assert time.monotonic() < deadline, f"only {count()} events; {second.log()[-500:]}"
            time.sleep(0.05)
        received = browser.execute_script("return window.received")
        assert received == [[f"tick {n}", str(n)] for n in range(1, TOTAL + 1)]
        resumed = [int(n) for n in re.findall(r"Last-Event-ID=(\d+)", second.log())]
        assert resumed and 8 <= resumed[0] < TOTAL, second.log()
        assert resumed[-1] == TOTAL  # the last request got 204 and the browser stopped
    finally:
        second.stop()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["graceful", "killed"])
def test_swift_client_resumes_after_a_restart_exactly_once(tmp_path: Path, stop_signal: int) -> None:
    port = free_port()
    first = start_testserver(tmp_path / "first.log", "--retry", "200", port=port)
    output = open(tmp_path / "client.out", "wb")
    client = subprocess.Popen(
        [str(binary("canal")), "sse", "--json", f"http://127.0.0.1:{port}/count?n={TOTAL}&interval=100"],
        stdout=output, stderr=open(tmp_path / "client.err", "wb"), stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while len((tmp_path / "client.out").read_bytes().splitlines()) < 8:
            assert time.monotonic() < deadline, "no events before the restart"
            time.sleep(0.02)
        first.stop(stop_signal)
        second = start_testserver(tmp_path / "second.log", "--retry", "200", port=port)
        try:
            # The server answers 204 after the last event, which ends canal sse with 0.
            assert client.wait(timeout=25) == 0, (tmp_path / "client.err").read_text()
        finally:
            second.stop()
    finally:
        if client.poll() is None:
            client.kill()
        output.close()
    events = json_lines((tmp_path / "client.out").read_bytes())
    assert [(e["data"], e["id"]) for e in events] == [(f"tick {n}", str(n)) for n in range(1, TOTAL + 1)]
    resumed = [int(n) for n in re.findall(r"Last-Event-ID=(\d+)", second.log())]
    assert resumed and 8 <= resumed[0] < TOTAL
    assert "Reconnecting" in (tmp_path / "client.err").read_text()
