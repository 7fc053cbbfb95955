"""--slash commands from a pipe: /ping, /pong, /close, /binary, errors."""

from __future__ import annotations

from cli_support import run_canal


def test_ping_shows_the_pong_with_P(echo_url):
    result = run_canal("--slash", "-P", "-c", echo_url, "-w", "0.5", input="/ping hello\n/ping\n")
    assert result.returncode == 0, result
    assert result.lines == ['Received pong (data: "hello")', 'Received pong (data: "")']


def test_pongs_are_not_shown_without_P(echo_url):
    result = run_canal("--slash", "-c", echo_url, "-w", "0.5", input="/ping hello\nafter\n")
    assert result.returncode == 0, result
    assert result.lines == ["after"]


def test_server_pings_are_shown_with_P(py_server):
    async def handler(ws):
        await ws.ping(b"from server")
        await ws.send("sent")
        await ws.wait_closed()

    server = py_server(handler)
    result = run_canal("-P", "-c", server.url, "-x", "x", "-w", "1")
    assert result.returncode == 0, result
    assert result.lines == ['Received ping (data: "from server")', "sent"]


def test_binary_ping_payload_is_shown_as_hex(py_server):
    async def handler(ws):
        await ws.ping(b"\x00\x01\xfe")
        await ws.wait_closed()

    server = py_server(handler)
    result = run_canal("-P", "-c", server.url, "-x", "x", "-w", "1")
    assert result.lines == ["Received ping (data: 0x0001fe)"]


def test_close_with_code_and_reason_reaches_the_server(py_server):
    server = py_server()
    result = run_canal("--slash", "-c", server.url, input="/close 4000 bye bye\n")
    assert result.returncode == 0, result
    server.wait_until(lambda: server.closes, what="the close")
    assert server.closes == [(4000, "bye bye")]
    assert 'Disconnected (code: 4000, reason: "bye bye")' in result.stderr


def test_close_against_our_server(canal_serve):
    result = run_canal("--slash", "-c", canal_serve, input="/close 4000 bye\n")
    assert result.returncode == 0, result
    assert 'Disconnected (code: 4000, reason: "bye")' in result.stderr


def test_lines_after_close_are_not_sent(py_server):
    server = py_server()
    result = run_canal("--slash", "-c", server.url, input="/close\nlate\n")
    assert result.returncode == 0, result
    server.wait_until(lambda: server.closes, what="the close")
    assert server.received == []


def test_binary_round_trip_hex_base64_and_file(echo_url, tmp_path):
    path = tmp_path / "blob.bin"
    blob = bytes(range(256))
    path.write_bytes(blob)
    result = run_canal("--slash", "-c", echo_url, "-w", "1",
                       input=f"/binary hex 01ff\n/binary base64 AQI=\n/binary file {path}\n")
    assert result.returncode == 0, result
    lines = result.lines
    assert lines[0] == "00000000  01 ff                                             |..|"
    assert lines[1] == "00000000  01 02                                             |..|"
    dump = lines[2:]
    assert len(dump) == 16
    assert dump[0] == "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|"
    assert dump[2] == "00000020  20 21 22 23 24 25 26 27  28 29 2a 2b 2c 2d 2e 2f  | !\"#$%&'()*+,-./|"
    assert dump[15] == "000000f0  f0 f1 f2 f3 f4 f5 f6 f7  f8 f9 fa fb fc fd fe ff  |................|"
    # The dump holds exactly the bytes sent.
    parsed = bytes.fromhex("".join(line[10:58].replace(" ", "") for line in dump))
    assert parsed == blob


def test_binary_reaches_python_as_bytes(py_server):
    server = py_server()
    result = run_canal("--slash", "-c", server.url, input="/binary base64 3q2+7w==\n")
    assert result.returncode == 0, result
    server.wait_until(lambda: server.closes, what="the close")
    assert server.received == [b"\xde\xad\xbe\xef"]


def test_errors_are_reported_and_the_session_goes_on(py_server):
    server = py_server()
    result = run_canal("--slash", "-c", server.url, "-w", "0.5",
                       input="/frobnicate\n/close 1005\n/binary hex zz\nstill here\n")
    assert result.returncode == 0, result
    assert result.lines == ["still here"]
    assert "error: unknown command /frobnicate" in result.stderr
    assert "error: close code 1005 cannot be sent" in result.stderr
    assert "error: \"zz\" is not an even number of hex digits" in result.stderr
    server.wait_until(lambda: server.closes, what="the close")
    assert server.received == ["still here"]


def test_help_lists_the_commands(echo_url):
    result = run_canal("--slash", "-c", echo_url, input="/help\n")
    assert result.returncode == 0, result
    assert "/binary hex 01ff" in result.stderr


def test_pong_command_is_accepted(echo_url):
    # An unsolicited pong (RFC 6455 §5.5.3) needs no answer; the connection goes on.
    result = run_canal("--slash", "-c", echo_url, "-w", "0.5", input="/pong heartbeat\nafter\n")
    assert result.returncode == 0, result
    assert result.lines == ["after"]
