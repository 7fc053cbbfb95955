"""`-x` messages, sent in order, and `-w` (wait after them; -1 stays open)."""

from __future__ import annotations

import time

from cli_support import run_canal


def test_several_x_are_sent_in_order_and_replies_printed(echo_url):
    result = run_canal("-c", echo_url, "-x", "one", "-x", "two", "-x", "three", "-w", "1")
    assert result.returncode == 0, result
    assert result.lines == ["one", "two", "three"]


def test_x_output_is_plain_even_for_the_server_order(py_server):
    server = py_server()
    result = run_canal("-c", server.url, "-x", "a", "-x", "b", "-w", "0.5")
    assert result.returncode == 0, result
    server.wait_until(lambda: server.closes, what="the close")
    assert server.received == ["a", "b"]
    assert server.closes == [(1000, "")]


def test_wait_bounds_the_session(py_server):
    server = py_server()
    started = time.monotonic()
    result = run_canal("-c", server.url, "-x", "hi", "-w", "1.5")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result
    assert elapsed >= 1.5, elapsed
    assert elapsed < 15, elapsed


def test_default_wait_is_two_seconds_as_wscat(py_server):
    server = py_server()
    started = time.monotonic()
    result = run_canal("-c", server.url, "-x", "hi")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result
    assert 2.0 <= elapsed < 15, elapsed


def test_wait_minus_one_stays_open_until_the_server_closes(py_server):
    async def handler(ws):
        messages = [await ws.recv() for _ in range(2)]
        await ws.send("got " + "+".join(messages))
        await ws.close(1000, "done")

    server = py_server(handler)
    result = run_canal("-c", server.url, "-x", "a", "-x", "b", "-w", "-1")
    assert result.returncode == 0, result
    assert result.lines == ["got a+b"]
    assert 'Disconnected (code: 1000, reason: "done")' in result.stderr


def test_wait_minus_one_and_server_closing_with_an_error_code_exits_3(py_server):
    async def handler(ws):
        await ws.recv()
        await ws.close(4001, "unauthorized")

    server = py_server(handler)
    result = run_canal("-c", server.url, "-x", "hello", "-w", "-1")
    assert result.returncode == 3, result
    assert 'Disconnected (code: 4001, reason: "unauthorized")' in result.stderr


def test_x_with_slash_commands(py_server):
    server = py_server()
    result = run_canal("--slash", "-P", "-c", server.url,
                       "-x", "/ping are you there", "-x", "/binary hex 00ff", "-x", "//slash", "-w", "1")
    assert result.returncode == 0, result
    assert result.lines == [
        'Received pong (data: "are you there")',
        "00000000  00 ff                                             |..|",
        "/slash",
    ]
    assert server.received == [b"\x00\xff", "/slash"]


def test_x_close_with_code_and_reason(py_server):
    server = py_server()
    result = run_canal("--slash", "-c", server.url, "-x", "bye now", "-x", "/close 4000 see you", "-w", "-1")
    assert result.returncode == 0, result
    server.wait_until(lambda: server.closes, what="the close")
    assert server.closes == [(4000, "see you")]
    assert 'Disconnected (code: 4000, reason: "see you")' in result.stderr


def test_without_slash_a_slash_line_is_text(py_server):
    server = py_server()
    result = run_canal("-c", server.url, "-x", "/close 4000", "-w", "0.5")
    assert result.returncode == 0, result
    assert server.received == ["/close 4000"]


def test_x_value_may_look_like_an_option(py_server):
    server = py_server()
    result = run_canal("-c", server.url, "-x", "-w", "-w", "0.5")
    assert result.returncode == 0, result
    assert server.received == ["-w"]
