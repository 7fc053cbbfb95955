"""Standard input and output as pipes: each line a message, the end of input
closes with 1000, and standard output carries only the data."""

from __future__ import annotations

from cli_support import ANSI_RE, run_canal


def test_lines_in_messages_out(echo_url):
    # -w 1: python `websockets` answers our close at once and drops echoes it has not
    # sent yet, so wait for the replies before closing.
    lines = [f"line {i}" for i in range(50)]
    result = run_canal("-c", echo_url, "-w", "1", input="\n".join(lines) + "\n")
    assert result.returncode == 0, result
    assert result.lines == lines


def test_no_decoration_on_stdout_when_it_is_not_a_terminal(echo_url):
    result = run_canal("-c", echo_url, "-w", "0.5", input="hello\n")
    assert result.returncode == 0, result
    assert result.stdout == "hello\n"
    assert not ANSI_RE.search(result.stdout + result.stderr)
    # The state lines go to standard error instead.
    assert "Connected (press CTRL+C to quit)" in result.stderr
    assert 'Disconnected (code: 1000, reason: "")' in result.stderr


def test_quiet_leaves_stderr_empty(echo_url):
    result = run_canal("-q", "-c", echo_url, "-w", "0.5", input="hello\n")
    assert result.returncode == 0, result
    assert result.stdout == "hello\n" and result.stderr == ""


def test_end_of_input_closes_with_1000(py_server):
    server = py_server()
    result = run_canal("-c", server.url, input="one\ntwo\n")
    assert result.returncode == 0, result
    server.wait_until(lambda: server.closes, what="the close")
    assert server.received == ["one", "two"]
    assert server.closes == [(1000, "")]


def test_empty_input_connects_and_closes_cleanly(py_server):
    server = py_server()
    result = run_canal("-c", server.url, input=b"")
    assert result.returncode == 0, result
    assert result.stdout == ""
    server.wait_until(lambda: server.closes, what="the close")
    assert server.closes == [(1000, "")]


def test_last_line_without_newline_and_crlf_and_empty_lines(py_server):
    server = py_server()
    result = run_canal("-c", server.url, input=b"a\r\n\nlast")
    assert result.returncode == 0, result
    server.wait_until(lambda: server.closes, what="the close")
    assert server.received == ["a", "", "last"]


def test_unicode_round_trip(echo_url):
    text = "héllo wörld — 你好 — 🚀"
    result = run_canal("-c", echo_url, "-w", "0.5", input=text + "\n")
    assert result.returncode == 0, result
    assert result.stdout == text + "\n"


def test_multiline_message_from_server_is_printed_as_is(py_server):
    async def handler(ws):
        await ws.send("first line\nsecond line")
        await ws.wait_closed()

    server = py_server(handler)
    result = run_canal("-c", server.url, "-x", "go", "-w", "1")
    assert result.returncode == 0, result
    assert result.stdout == "first line\nsecond line\n"


def test_scheme_defaults_to_ws(py_server):
    server = py_server()
    result = run_canal("-c", f"127.0.0.1:{server.port}", "-w", "0.5", input="bare\n")
    assert result.returncode == 0, result
    assert result.stdout == "bare\n"


def test_connect_subcommand_is_the_same(echo_url):
    result = run_canal("connect", echo_url, "-w", "0.5", input="via subcommand\n")
    assert result.returncode == 0, result
    assert result.stdout == "via subcommand\n"


def test_timestamps_prefix_every_line(echo_url):
    result = run_canal("--timestamps", "-c", echo_url, "-w", "0.5", input="a\nb\n")
    assert result.returncode == 0, result
    import re
    stamp = r"\[\d\d:\d\d:\d\d\.\d\d\d\] "
    assert len(result.lines) == 2
    for line, text in zip(result.lines, ["a", "b"]):
        assert re.fullmatch(stamp + text, line), line
    assert re.search(stamp + r"Connected", result.stderr)


def test_headers_origin_subprotocol_auth_and_host_reach_the_server(py_server):
    server = py_server(subprotocols=["chat.v2"])
    result = run_canal(
        "-c", server.url + "path?x=1", "-H", "X-Token: abc", "-H", "X-Other:2",
        "-o", "https://example.org", "-s", "chat.v1", "-s", "chat.v2",
        "--auth", "user:secret", "--host", "example.test:1234", "-p", "13",
        input="hi\n",
    )
    assert result.returncode == 0, result
    request = server.requests[0]
    assert request.path == "/path?x=1"
    headers = request.headers
    assert headers["X-Token"] == "abc" and headers["X-Other"] == "2"
    assert headers["Origin"] == "https://example.org"
    assert headers["Sec-WebSocket-Protocol"] == "chat.v1, chat.v2"
    assert headers["Authorization"] == "Basic dXNlcjpzZWNyZXQ="
    assert headers["Host"] == "example.test:1234"
    assert server.connections[0].subprotocol == "chat.v2"


def test_sigint_closes_with_1000_and_exits_0(py_server, start_canal):
    import signal
    server = py_server()
    canal = start_canal("-c", server.url)
    canal.expect_stderr("Connected")
    canal.send_line("before ctrl-c")
    canal.expect_stdout("before ctrl-c")
    canal.proc.send_signal(signal.SIGINT)
    assert canal.wait() == 0, canal
    server.wait_until(lambda: server.closes, what="the close")
    assert server.closes == [(1000, "")]


def test_wait_after_end_of_input_lets_replies_arrive(py_server):
    async def slow_echo(ws):
        import asyncio
        async for message in ws:
            await asyncio.sleep(0.3)
            await ws.send("re: " + message)

    server = py_server(slow_echo)
    result = run_canal("-c", server.url, "-w", "2", input="a\nb\n")
    assert result.returncode == 0, result
    assert result.lines == ["re: a", "re: b"]


def test_wait_minus_one_after_input_stays_until_the_server_closes(py_server):
    async def handler(ws):
        message = await ws.recv()
        for i in range(3):
            await ws.send(f"{message} {i}")
        await ws.close(1001, "going away")

    server = py_server(handler)
    result = run_canal("-c", server.url, "-w", "-1", input="tick\n")
    assert result.returncode == 0, result
    assert result.lines == ["tick 0", "tick 1", "tick 2"]
