"""https:// and wss:// on one port, with a throwaway certificate made by openssl."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
import websockets

from web_support import DemoServer, bin_dir, start_demo


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture(scope="module")
def tls_server(site: Path, certificate: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    cert, key = certificate
    log = tmp_path_factory.mktemp("tlslog") / "server.log"
    demo = start_demo(["--public", str(site), "--tls-cert", str(cert), "--tls-key", str(key)], log)
    assert demo.scheme == "https"
    yield demo
    demo.stop()


@pytest.fixture(scope="module")
def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def https(server: DemoServer, context: ssl.SSLContext) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=10)


def test_https_serves_pages_with_types(tls_server: DemoServer, client_context: ssl.SSLContext, site: Path) -> None:
    conn = https(tls_server, client_context)
    for path, media_type in [
        ("/test.html", "text/html; charset=utf-8"),
        ("/css/test.css", "text/css; charset=utf-8"),
        ("/js/test.js", "text/javascript; charset=utf-8"),
        ("/img/waves.png", "image/png"),
    ]:
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == media_type
        assert response.read() == (site / path.lstrip("/")).read_bytes()
    conn.request("GET", "/")
    assert b"Welcome" in conn.getresponse().read()
    conn.close()


def test_https_offers_http_1_1_by_alpn(tls_server: DemoServer, client_context: ssl.SSLContext) -> None:
    client_context = ssl.create_default_context(cafile=client_context.get_ca_certs() and None)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == "http/1.1"


def test_https_large_file_and_range(tls_server: DemoServer, client_context: ssl.SSLContext, site: Path) -> None:
    data = (site / "large.bin").read_bytes()
    conn = https(tls_server, client_context)
    conn.request("GET", "/large.bin")
    response = conn.getresponse()
    digest = hashlib.sha256()
    while chunk := response.read(1 << 16):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    conn.request("GET", "/large.bin", headers={"Range": "bytes=1000000-1099999"})
    response = conn.getresponse()
    assert response.status == 206
    assert response.read() == data[1000000:1100000]
    conn.close()


def test_https_slow_readers_cost_no_server_memory(tls_server: DemoServer, client_context: ssl.SSLContext) -> None:
    # Under TLS the file goes through the thread pool in chunks; the next chunk is read
    # only when the socket drains.
    before = tls_server.rss_kib()
    sockets = []
    try:
        for _ in range(8):
            raw = socket.create_connection(("127.0.0.1", tls_server.port), timeout=5)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            tls = client_context.wrap_socket(raw, server_hostname="127.0.0.1")
            tls.sendall(b"GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            sockets.append(tls)
        time.sleep(1.5)
        for tls in sockets:
            assert tls.recv(1024).startswith(b"HTTP/1.1 200")
        time.sleep(0.5)
        grown = tls_server.rss_kib() - before
    finally:
        for tls in sockets:
            tls.close()
    assert grown < 24 * 1024, f"server grew by {grown} KiB"


def test_plain_http_on_the_tls_port_is_refused(tls_server: DemoServer) -> None:
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        try:
            data = sock.recv(1024)
        except ConnectionResetError:
            data = b""
    assert not data.startswith(b"HTTP/1.1 200")


def test_wss_echo_with_python_websockets(tls_server: DemoServer, client_context: ssl.SSLContext) -> None:
    async def scenario() -> list:
        uri = f"wss://127.0.0.1:{tls_server.port}/echo"
        async with websockets.connect(uri, ssl=client_context, origin=f"https://127.0.0.1:{tls_server.port}") as ws:
            replies = []
            for message in ["over TLS", "x" * 200_000, b"\xff" * 1000]:
                await ws.send(message)
                replies.append(await ws.recv())
            return replies

    replies = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert replies == ["over TLS", "x" * 200_000, b"\xff" * 1000]


def test_wss_rejects_client_that_does_not_trust_the_certificate(tls_server: DemoServer) -> None:
    async def scenario() -> None:
        async with websockets.connect(f"wss://127.0.0.1:{tls_server.port}/echo", ssl=ssl.create_default_context()):
            pass

    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(asyncio.wait_for(scenario(), 10))


def test_wss_with_the_canal_cli(tls_server: DemoServer, certificate: tuple[Path, Path]) -> None:
    # Our own client, through the command-line tool: `canal -c wss://... --ca FILE`.
    canal = bin_dir() / "canal"
    result = subprocess.run(
        [str(canal), "-c", f"wss://127.0.0.1:{tls_server.port}/echo", "--ca", str(certificate[0]),
         "-x", "hello over wss", "-w", "1"],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "SWIFT_BACKTRACE": "enable=no"},
    )
    assert result.returncode == 0, result.stderr
    assert "hello over wss" in result.stdout


def test_echo_page_over_https_uses_wss_in_the_browser(tls_server: DemoServer) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-proxy-server", "--ignore-certificate-errors"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)
    try:
        driver.set_page_load_timeout(20)
        driver.get(tls_server.base + "/echo.html")
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "send").is_enabled())
        assert "Connected to wss://127.0.0.1:" in driver.find_element(By.ID, "status").text
        driver.find_element(By.ID, "send").click()
        expected = ["Hello from the browser!", "Message number 1"]
        WebDriverWait(driver, 10).until(
            lambda d: [li.text for li in d.find_elements(By.CSS_SELECTOR, "#messages li")] == expected
        )
    finally:
        driver.quit()
