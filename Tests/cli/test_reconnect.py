"""--reconnect: a dropped connection is opened again with backoff."""

from __future__ import annotations

import socket
import time

from cli_support import run_canal


def test_reconnects_after_the_server_restarts(py_server, start_canal):
    first = py_server()
    port = first.port
    canal = start_canal("--reconnect", "-c", first.url)
    canal.expect_stderr("^Connected")
    canal.send_line("one")
    canal.expect_stdout("^one$")

    first.stop()  # closes the connection with 1001
    canal.expect_stderr(r'^Disconnected \(code: 1001')
    canal.expect_stderr(r"^Reconnecting in 0\.[4-6] s \(attempt 1\)$")

    second = py_server(port=port)
    canal.expect_stderr("^Connected", timeout=30)
    canal.send_line("two")
    canal.expect_stdout("^two$")
    assert second.received == ["two"]

    canal.close_stdin()
    assert canal.wait() == 0, canal


def test_initial_failures_are_retried_until_the_server_appears(py_server, start_canal):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    canal = start_canal("--reconnect", "-c", f"ws://127.0.0.1:{port}/")
    canal.expect_stderr("connection refused")
    canal.expect_stderr(r"^Reconnecting in .* \(attempt 2\)$", timeout=30)
    server = py_server(port=port)
    canal.expect_stderr("^Connected", timeout=30)
    canal.send_line("finally")
    canal.expect_stdout("^finally$")
    canal.close_stdin()
    assert canal.wait() == 0, canal
    assert server.received == ["finally"]


def test_max_reconnects_gives_up_with_exit_1():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    result = run_canal("--max-reconnects", "2", "-c", f"ws://127.0.0.1:{port}/")
    assert result.returncode == 1, result
    assert result.stderr.count("connection refused") == 3
    assert "Reconnecting in 0.5 s (attempt 1)" in result.stderr.replace("0.4 s", "0.5 s").replace("0.6 s", "0.5 s")
    assert "giving up after 2 reconnection attempts" in result.stderr
    # 0.5 s and 1 s of backoff, each within ±20 %.
    assert 1.2 <= time.monotonic() - started < 20


def test_a_close_we_asked_for_is_not_reconnected(py_server):
    server = py_server()
    result = run_canal("--reconnect", "-c", server.url, "-x", "once", "-w", "0.5")
    assert result.returncode == 0, result
    assert "Reconnecting" not in result.stderr
    assert len(server.requests) == 1
