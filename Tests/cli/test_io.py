"""`canal io`: the Socket.IO mode against python-socketio's server (the contract server of
Tests/socketio) and Canal's: pipes, -x/-w, slash commands, acks, binary, namespaces,
--reconnect, listen mode, and the exit statuses."""
from __future__ import annotations

import json
import re
import subprocess
import threading
import time

import pytest
import socketio

from cli_support import run_canal
from io_support import FakeServer, Server, TcpProxy, free_port


@pytest.fixture(params=["python", "canal"])
def sio_server(request):
    server = Server(request.param, "--ping-interval", 1000, "--ping-timeout", 1000).start()
    yield server
    server.stop()


@pytest.fixture
def python_server():
    server = Server("python", "--ping-interval", 1000, "--ping-timeout", 1000).start()
    yield server
    server.stop()


def event_lines(result, name):
    return [line for line in result.lines if line.split(" ", 1)[0] == name]


def test_pipe_sends_lines_and_prints_events(sio_server):
    result = run_canal("io", sio_server.url, "-w", "1",
                       input='hello\n/emit echo {"a":[1,2]} two 3\n//slash\n')
    assert result.returncode == 0, result
    assert event_lines(result, "message") == ['message "hello"', 'message "/slash"']
    assert event_lines(result, "echo") == ['echo {"a":[1,2]} "two" 3']
    (welcome,) = event_lines(result, "welcome")
    assert json.loads(welcome.split(" ", 1)[1])["nsp"] == "/"
    assert "Connected to / (id " in result.stderr and "Disconnected (io client disconnect)" in result.stderr


def test_execute_call_prints_the_acknowledgement(sio_server):
    result = run_canal("io", sio_server.url, "-x", '/call echo-ack 1 "x" {"k":null}', "-w", "0")
    assert result.returncode == 0, result
    assert 'ack echo-ack 1 "x" {"k":null}' in result.lines


def test_binary_both_ways_as_hex_dump(sio_server):
    result = run_canal("io", sio_server.url, "-x", "/binary echo hex 00ff10", "-x", "/emit binary-hello", "-w", "1")
    assert result.returncode == 0, result
    lines = result.lines
    start = lines.index("echo <binary 3 bytes>")
    assert re.fullmatch(r"  00000000  00 ff 10 +\|\.\.\.\|", lines[start + 1])
    (binary,) = event_lines(result, "binary")
    assert binary == 'binary {"all":<binary #1, 256 bytes>,"nested":[{"b":<binary #2, 3 bytes>}],"text":"ok"}'
    after = lines[lines.index(binary) + 1:]
    assert after[0] == "  binary #1:" and after[1].startswith("  00000000  00 01 02 03")
    assert "  binary #2:" in after


def test_server_asks_and_person_answers_with_ack(sio_server, start_canal):
    canal = start_canal("io", sio_server.url, "-w", "-1")
    canal.expect_stderr(r"Connected to /")
    canal.send_line('/emit ask {"event":"question","args":[7],"timeout_ms":5000}')
    canal.expect_stdout(r"^question 7$")
    canal.expect_stderr(r"asks for an acknowledgement: /ack 1")
    canal.send_line('/ack 1 "yes" 2')
    canal.expect_stdout(r'^ask-result \{"ok":true,"response":\["yes",2\]\}$')
    canal.send_line("/disconnect")
    assert canal.wait() == 0


def test_namespaces_auth_and_join(python_server):
    result = run_canal("io", python_server.url + "/admin", "--auth", '{"role":"admin"}', "-x", "/join /dyn-x1",
                       "-x", "/call echo-ack here", "-w", "0.5")
    assert result.returncode == 0, result
    welcomes = [l for l in result.lines if "welcome " in l]
    assert any(l.startswith("welcome ") and '"nsp":"/admin"' in l for l in welcomes)
    assert any(l.startswith("[/dyn-x1] welcome ") for l in welcomes)
    assert "[/dyn-x1] ack echo-ack \"here\"" in result.lines


def test_refused_namespace_exits_1_with_the_servers_data(sio_server):
    result = run_canal("io", sio_server.url, "--auth", '{"token":"reject"}')
    assert result.returncode == 1, result
    assert "error: the server refused the connection: not authorized" in result.stderr
    assert 'data: {"reason":"bad token","code":4001}' in result.stderr


def test_server_disconnect_exits_0(sio_server):
    result = run_canal("io", sio_server.url, "-x", "/emit disconnect-me", "-w", "-1")
    assert result.returncode == 0, result
    assert "Disconnected (io server disconnect)" in result.stderr


def test_nobody_listening_exits_1_with_a_hint():
    result = run_canal("io", f"http://127.0.0.1:{free_port()}", "--transport", "websocket")
    assert result.returncode == 1, result
    assert "connection refused (is the server running?)" in result.stderr
    result = run_canal("io", f"http://127.0.0.1:{free_port()}", "--transport", "polling")
    assert result.returncode == 1, result
    assert "connection refused (is the server running?)" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["ftp://host/"], "unsupported scheme"),
    (["http://127.0.0.1:9", "--auth", "[1]"], "--auth: the auth must be a JSON object"),
    (["http://127.0.0.1:9", "--auth", "{bad"], "--auth: the auth is not valid JSON"),
    (["http://127.0.0.1:9", "--transport", "carrier-pigeon"], "transport"),
    (["--listen", "0", "--auth", "{}"], "--auth works only when connecting"),
    ([], "give the server's URL, or --listen <port>"),
])
def test_usage_errors_exit_2(args, message):
    result = run_canal("io", *args)
    assert result.returncode == 2, result
    assert message in result.stderr


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_malformed_packet_exits_3(transport):
    server = FakeServer("malformed-event").start()
    try:
        result = run_canal("io", server.url, "--transport", transport, "-w", "-1")
        assert result.returncode == 3, result
        assert "Disconnected (parse error)" in result.stderr
        assert "unknown packet type" in result.stderr
    finally:
        server.stop()


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_unanswered_connect_exits_1(transport):
    server = FakeServer("silent").start()
    try:
        t0 = time.monotonic()
        result = run_canal("io", server.url, "--transport", transport, "--connect-timeout", "1")
        assert result.returncode == 1, result
        assert "did not answer the CONNECT to / in time" in result.stderr
        assert time.monotonic() - t0 < 15
    finally:
        server.stop()


def test_drop_mid_upgrade_ends_clearly():
    server = FakeServer("drop-upgrade").start()
    try:
        result = run_canal("io", server.url, "-w", "-1", timeout=30)
        assert result.returncode in (1, 3), result
        assert "error:" in result.stderr
    finally:
        server.stop()


def test_not_a_socketio_server_exits_1():
    server = FakeServer("not-engineio").start()
    try:
        result = run_canal("io", server.url)
        assert result.returncode == 1, result
        assert "does not speak Socket.IO" in result.stderr
    finally:
        server.stop()


def test_reconnect_shows_new_session_after_restart(start_canal):
    port = free_port()
    server = Server("python", "--ping-interval", 1000, "--ping-timeout", 1000, port=port).start()
    try:
        canal = start_canal("io", server.url, "--reconnect", "-w", "-1")
        canal.expect_stderr(r"Connected to / \(id ")
        server.stop()
        canal.expect_stderr(r"Disconnected \((transport close|transport error|ping timeout)\)")
        canal.expect_stderr(r"Reconnecting in \d+\.\d s \(attempt 1\)")
        server = Server("python", "--ping-interval", 1000, "--ping-timeout", 1000, port=port).start()
        canal.expect_stderr(r"Reconnected \(id .*new session", timeout=20)
        canal.send_line("/call echo-ack back")
        canal.expect_stdout(r'^ack echo-ack "back"$')
        canal.send_line("/disconnect")
        assert canal.wait() == 0
    finally:
        server.stop()


def test_reconnect_shows_recovered_session(start_canal):
    server = Server("canal", "--recovery", "--ping-interval", 1000, "--ping-timeout", 1000).start()
    proxy = TcpProxy(server.port).start()
    try:
        canal = start_canal("io", proxy.url, "--reconnect", "--transport", "websocket", "-w", "-1")
        canal.expect_stderr(r"Connected to / \(id (\S+), websocket")
        # The welcome carries the first offset: without one there is nothing to recover from.
        canal.expect_stdout(r'^welcome .*"recovered":false')
        proxy.cut()
        canal.expect_stderr(r"Disconnected \(transport (close|error)\)")
        proxy.restore()
        canal.expect_stderr(r"Reconnected \(id \S+, websocket, session recovered\)", timeout=20)
        canal.expect_stdout(r'^welcome .*"recovered":true')
        canal.send_line("/disconnect")
        assert canal.wait() == 0
    finally:
        proxy.stop()
        server.stop()


def test_listen_mode_with_python_socketio_client(start_canal):
    listener = start_canal("io", "--listen", "0")
    port = int(listener.expect_stderr(r"Listening on port (\d+)").group(1))
    client = socketio.Client(reconnection=False)
    received = []
    client.on("message", lambda *args: received.append(("message", args)))
    client.on("news", lambda *args: received.append(("news", args)))
    try:
        client.connect(f"http://127.0.0.1:{port}", namespaces=["/", "/room"], wait_timeout=10)
        listener.expect_stderr(r"\[client 1\] Connected \(id ")
        client.emit("chat", ({"text": "hi"}, b"\x01\x02"))
        listener.expect_stdout(r'^\[client 1\] chat \{"text":"hi"\} <binary 2 bytes>$')
        client.emit("chat", "room", namespace="/room")
        listener.expect_stdout(r'^\[client \d+ /room\] chat "room"$')
        answers = []
        asking = threading.Thread(target=lambda: answers.append(client.call("question", 5, timeout=10)))
        asking.start()
        listener.expect_stdout(r"^\[client 1\] question 5$")
        request = listener.expect_stderr(r"asks for an acknowledgement: /ack (\d+)").group(1)
        listener.send_line(f'/ack {request} "ok"')
        asking.join(12)
        assert answers == ["ok"]
        listener.send_line("hello all")
        listener.send_line('/emit news {"n":1}')
        deadline = time.monotonic() + 10
        while len([r for r in received if r[0] in ("message", "news")]) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ("message", ("hello all",)) in received
        assert ("news", ({"n": 1},)) in received
        client.disconnect()
        listener.expect_stderr(r"\[client 1\] Disconnected")
    finally:
        client.disconnect()
    listener.close_stdin()
    assert listener.wait() == 0


def test_help_lists_commands_and_exit_statuses():
    result = run_canal("io", "--help")
    assert result.returncode == 0
    for text in ("canal io <url> [options]", "--namespace", "--auth", "--transport", "--reconnect", "--listen",
                 "/call EVENT", "/join NAMESPACE", "EXIT STATUS", "--ca"):
        assert text in result.stdout, text


@pytest.mark.parametrize("line, summary", [
    ("hello world", 'message "hello world"'),
    ("//slash", 'message "/slash"'),
    ('/emit chat hello {"a":[1, 2]} "x y" 3 null', 'emit "chat" "hello" {"a":[1,2]} "x y" 3 null'),
    ('/emit upload {"$binary":"01ff"}', 'emit "upload" <binary 2 bytes>'),
    ("/call rooms", 'call "rooms" '),
    ('/ack 2 "yes"', 'ack 2 "yes"'),
    ("/binary file-part hex 00 01", 'emit "file-part" <binary 2 bytes>'),
    ('/join admin {"role":"admin"}', 'join /admin {"role":"admin"}'),
    ("/leave", "leave -"),
    ("/disconnect", "disconnect"),
])
def test_io_line_parsing(line, summary):
    result = run_canal("internals", "io-line", line)
    assert result.returncode == 0, result
    assert result.stdout.rstrip("\n") == summary


@pytest.mark.parametrize("line, error", [
    ("/emit", "usage: /emit EVENT [ARG ...]"),
    ('/emit chat {"a":', "argument 1 is not valid JSON"),
    ("/ack x", "usage: /ack N [ARG ...]"),
    ("/binary chat hex 0", "is not an even number of hex digits"),
    ("/join /admin [1]", "the auth must be a JSON object"),
    ("/frobnicate", "unknown command /frobnicate"),
])
def test_io_line_errors(line, error):
    result = run_canal("internals", "io-line", line)
    assert result.returncode == 1, result
    assert error in result.stdout


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_https_with_ca_and_untrusted_certificate(start_canal, tmp_path, transport):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    serve = start_canal("serve", "--host", "127.0.0.1", "--port", "0", "--tls-cert", cert, "--tls-key", key)
    port = serve.expect_stdout(r"listening on https://127\.0\.0\.1:(\d+)/", timeout=30).group(1)
    url = f"https://127.0.0.1:{port}"
    result = run_canal("io", url, "--transport", transport, "--ca", cert, "-w", "1", input="secure hello\n")
    assert result.returncode == 0, result
    assert 'message "secure hello"' in result.lines
    result = run_canal("io", url.replace("https", "wss"), "--transport", transport, "-n", "-x", "skipped", "-w", "1")
    assert result.returncode == 0, result
    assert 'message "skipped"' in result.lines
    result = run_canal("io", url, "--transport", transport)
    assert result.returncode == 1, result
    assert "certificate is not trusted" in result.stderr
    assert "use --ca FILE to trust a private CA, or -n" in result.stderr
