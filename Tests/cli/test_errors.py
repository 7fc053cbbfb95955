"""Errors a person understands, and the exit codes documented in --help."""

from __future__ import annotations

import socket
import subprocess
import shutil
from http import HTTPStatus

import pytest

from cli_support import respond, run_canal


def free_port() -> int:
    """A port nothing listens on: bound to 127.0.0.1:0, then released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_exits_1():
    port = free_port()
    result = run_canal("-c", f"ws://127.0.0.1:{port}/")
    assert result.returncode == 1, result
    assert result.stderr.strip() == f"error: could not connect to 127.0.0.1:{port}: connection refused (is the server running?)"
    assert result.stdout == ""


def test_refused_upgrade_shows_status_and_body(py_server):
    server = py_server(process_request=lambda connection, request: connection.respond(
        HTTPStatus.FORBIDDEN, "Forbidden: this endpoint\nneeds a token\n"))
    result = run_canal("-c", server.url)
    assert result.returncode == 1, result
    lines = result.stderr.splitlines()
    assert lines[0] == "error: the server refused the WebSocket upgrade: HTTP 403 Forbidden"
    assert lines[1] == "  the response said: Forbidden: this endpoint needs a token"


def test_401_suggests_auth(py_server):
    server = py_server(process_request=lambda connection, request: connection.respond(
        HTTPStatus.UNAUTHORIZED, "who are you?"))
    result = run_canal("-c", server.url)
    assert result.returncode == 1, result
    assert "HTTP 401 Unauthorized (try --auth user:password" in result.stderr


def test_redirect_without_L_says_where_and_suggests_it(py_server):
    server = py_server(process_request=lambda connection, request: respond(
        connection, HTTPStatus.FOUND, "moved", Location="/new") if request.path == "/old" else None)
    result = run_canal("-c", server.url + "old")
    assert result.returncode == 1, result
    assert "HTTP 302 Found to /new (use -L to follow redirects)" in result.stderr


def test_L_follows_redirects(py_server):
    target = py_server()
    first = py_server(process_request=lambda connection, request: respond(
        connection, HTTPStatus.MOVED_PERMANENTLY, "", Location=f"http://127.0.0.1:{target.port}/here"))
    result = run_canal("-L", "-c", first.url + "start", "-w", "0.5", input="after redirect\n")
    assert result.returncode == 0, result
    assert result.stdout == "after redirect\n"
    assert f"Redirected (HTTP 301) to http://127.0.0.1:{target.port}/here" in result.stderr
    assert target.requests[0].path == "/here"


def test_redirect_loop_stops_at_max_redirects(py_server):
    server = py_server(process_request=lambda connection, request: respond(
        connection, HTTPStatus.TEMPORARY_REDIRECT, "", Location="/again"))
    result = run_canal("--location", "--max-redirects", "3", "-c", server.url)
    assert result.returncode == 1, result
    assert result.stderr.count("Redirected (HTTP 307)") == 3
    assert "too many redirects" in result.stderr
    assert len(server.requests) == 4


def test_server_that_does_not_upgrade_times_out(tmp_path):
    # A TCP server that accepts and never answers.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run_canal("--connect-timeout", "1", "-c", f"ws://127.0.0.1:{port}/")
    assert result.returncode == 1, result
    assert "did not complete the WebSocket handshake in time" in result.stderr


def test_server_closing_normally_exits_0(py_server):
    async def handler(ws):
        await ws.send("bye")
        await ws.close(1000, "finished")

    server = py_server(handler)
    result = run_canal("-c", server.url, "-w", "-1", input=None)
    assert result.returncode == 0, result
    assert result.stdout == "bye\n"
    assert 'Disconnected (code: 1000, reason: "finished")' in result.stderr


def test_server_going_away_exits_0(py_server):
    async def handler(ws):
        await ws.close(1001, "restarting")

    server = py_server(handler)
    result = run_canal("-c", server.url, "-w", "-1")
    assert result.returncode == 0, result


@pytest.mark.parametrize("code", [1011, 4000])
def test_server_closing_with_error_or_application_code_exits_3(py_server, code):
    async def handler(ws):
        await ws.close(code, "nope")

    server = py_server(handler)
    result = run_canal("-c", server.url, "-w", "-1")
    assert result.returncode == 3, result
    assert f'Disconnected (code: {code}, reason: "nope")' in result.stderr


def test_dropped_connection_exits_3(py_server):
    async def handler(ws):
        await ws.recv()
        ws.transport.abort()

    server = py_server(handler)
    result = run_canal("-c", server.url, "-x", "hello", "-w", "-1")
    assert result.returncode == 3, result
    assert 'Disconnected (code: 1006, reason: "")' in result.stderr


def test_protocol_violation_exits_3(py_server):
    async def handler(ws):
        # A masked frame from a server breaks RFC 6455 §5.1.
        await ws.recv()
        ws.transport.write(bytes([0x81, 0x82, 1, 2, 3, 4, 0x69 ^ 1, 0x69 ^ 2]))
        await ws.wait_closed()

    server = py_server(handler)
    result = run_canal("-c", server.url, "-x", "hello", "-w", "-1")
    assert result.returncode == 3, result
    assert "the peer broke the protocol" in result.stderr


def test_wss_with_an_untrusted_certificate_exits_1(tls_server):
    result = run_canal("-c", tls_server.url)
    assert result.returncode == 1, result
    assert result.stderr.splitlines() == [
        f"error: TLS handshake with 127.0.0.1:{tls_server.port} failed: its certificate is not trusted "
        "(self-signed, expired or from an unknown CA)",
        "  use --ca FILE to trust a private CA, or -n to skip certificate checks (for testing only)",
    ]


def test_wss_with_no_check(tls_server):
    result = run_canal("-n", "-c", tls_server.url, "-w", "0.5", input="secure hello\n")
    assert result.returncode == 0, result
    assert result.stdout == "secure hello\n"


def test_wss_with_ca(tls_server):
    result = run_canal("--ca", tls_server.cert, "-c", tls_server.url, "-w", "0.5", input="trusted\n")
    assert result.returncode == 0, result
    assert result.stdout == "trusted\n"


def test_wss_with_a_certificate_for_another_name(py_server, tmp_path):
    server = start_tls_server(py_server, tmp_path, subject="other.example", san="DNS:other.example")
    result = run_canal("--ca", server.cert, "-c", f"wss://localhost:{server.port}/")
    assert result.returncode == 1, result
    assert f"error: TLS handshake with localhost:{server.port} failed: its certificate is for another host name" \
        in result.stderr


def test_ca_file_without_certificates(tls_server, tmp_path):
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    result = run_canal("--ca", empty, "-c", tls_server.url)
    assert result.returncode == 1, result
    assert "the --ca file holds no PEM certificate" in result.stderr


def test_wss_to_a_plain_server(canal_serve):
    result = run_canal("-c", canal_serve.replace("ws://", "wss://"))
    assert result.returncode == 1, result
    assert "does not speak TLS on this port (try ws://)" in result.stderr


@pytest.fixture
def tls_server(py_server, tmp_path):
    """A python `websockets` echo server with a self-signed certificate for 127.0.0.1."""
    return start_tls_server(py_server, tmp_path, subject="127.0.0.1", san="IP:127.0.0.1,DNS:localhost")


def start_tls_server(py_server, tmp_path, subject: str, san: str):
    import ssl

    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make a test certificate", pytrace=False)
    cert, key = tmp_path / f"{subject}.pem", tmp_path / f"{subject}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={subject}", "-addext", f"subjectAltName={san}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = py_server(ssl=context)

    class TLS:
        port = server.port
        url = f"wss://127.0.0.1:{server.port}/"

    TLS.cert = str(cert)
    return TLS
