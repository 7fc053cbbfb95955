"""HTTP/1.1 behaviour of `canal serve` (the demo site), checked with raw sockets and http.client."""

from __future__ import annotations

import hashlib
import http.client
import socket
import time
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

import pytest

from web_support import DemoServer, connect, get, raw_request, read_response, wait_closed

# ---------------------------------------------------------------- basics


def test_route_answers_welcome_page(server: DemoServer) -> None:
    response = get(server.port, "/")
    assert response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert b'href="/test.html"' in response.body and b'href="/echo.html"' in response.body


@pytest.mark.parametrize(
    "path, media_type",
    [
        ("/test.html", "text/html; charset=utf-8"),
        ("/echo.html", "text/html; charset=utf-8"),
        ("/css/site.css", "text/css; charset=utf-8"),
        ("/css/test.css", "text/css; charset=utf-8"),
        ("/js/test.js", "text/javascript; charset=utf-8"),
        ("/js/echo-client.js", "text/javascript; charset=utf-8"),
        ("/img/canal.svg", "image/svg+xml"),
        ("/img/waves.png", "image/png"),
        ("/large.bin", "application/octet-stream"),
    ],
)
def test_static_file_has_its_media_type_and_exact_bytes(
    server: DemoServer, site: Path, path: str, media_type: str
) -> None:
    response = get(server.port, path)
    assert response.status == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.body == (site / path.lstrip("/")).read_bytes()


def test_directory_with_slash_serves_its_index(server: DemoServer) -> None:
    response = get(server.port, "/docs/")
    assert response.status == 200
    assert b"docs index" in response.body


def test_directory_without_slash_redirects_to_it(server: DemoServer) -> None:
    response = get(server.port, "/docs?x=1")
    assert response.status == 301
    assert response.headers["location"] == "/docs/?x=1"


def test_double_slash_directory_redirect_stays_on_this_host(server: DemoServer) -> None:
    # "//evil.example/" as a Location would send the browser to another host.
    response = get(server.port, "//docs")
    assert response.status == 301
    assert response.headers["location"] == "/docs/"


def test_unknown_path_is_404(server: DemoServer) -> None:
    assert get(server.port, "/no-such-file.html").status == 404
    assert get(server.port, "/css/missing.css").status == 404


def test_symlink_inside_the_folder_is_served(server: DemoServer, site: Path) -> None:
    response = get(server.port, "/inside-link.html")
    assert response.status == 200
    assert response.body == (site / "test.html").read_bytes()


def test_post_to_static_file_is_405_with_allow(server: DemoServer) -> None:
    response = get(server.port, "/test.html", method="POST")
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_json_route_with_query(server: DemoServer) -> None:
    response = get(server.port, "/api/hello?name=Ana%20Mar%C3%ADa")
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.body.decode() == '{"greeting":"Hello, Ana María!"}'


# ---------------------------------------------------------------- HEAD


def test_head_has_get_headers_and_no_body(server: DemoServer, site: Path) -> None:
    # HEAD and then GET on one connection: if HEAD leaked a body, the GET's response
    # would not parse.
    with connect(server.port) as sock:
        sock.sendall(
            b"HEAD /css/site.css HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /css/site.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        buffer = bytearray()
        head = read_response(sock, buffer, head_request=True)
        full = read_response(sock, buffer)
        assert wait_closed(sock, 5) is not None
    assert head.status == full.status == 200
    assert head.body == b""
    for name in ("content-type", "content-length", "etag", "last-modified", "accept-ranges"):
        assert head.headers[name] == full.headers[name]
    assert int(head.headers["content-length"]) == len((site / "css/site.css").read_bytes())


def test_head_on_route(server: DemoServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n")
        buffer = bytearray()
        head = read_response(sock, buffer, head_request=True)
        after = read_response(sock, buffer)
    assert head.status == 200 and head.body == b"" and int(head.headers["content-length"]) > 100
    assert after.status == 200 and b"greeting" in after.body


# ---------------------------------------------------------------- keep-alive


def test_keep_alive_serves_many_requests_on_one_connection(server: DemoServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.connect()
    local = conn.sock.getsockname()
    for path in ["/", "/test.html", "/css/test.css", "/img/waves.png", "/nope", "/api/hello"] * 3:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status in (200, 404)
        assert conn.sock is not None and conn.sock.getsockname() == local
    conn.close()


def test_pipelined_requests_are_answered_in_order(server: DemoServer) -> None:
    paths = ["/css/test.css", "/nope", "/", "/js/test.js", "/img/canal.svg", "/api/hello"]
    data = b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in paths)
    with connect(server.port) as sock:
        sock.sendall(data)
        buffer = bytearray()
        statuses = [read_response(sock, buffer).status for _ in paths]
    assert statuses == [200, 404, 200, 200, 200, 200]


def test_connection_close_is_honoured(server: DemoServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /css/test.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response = read_response(sock, bytearray())
        assert response.headers["connection"] == "close"
        assert wait_closed(sock, 5) is not None


def test_http_1_0_closes_unless_keep_alive(server: DemoServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /css/test.css HTTP/1.0\r\n\r\n")
        assert read_response(sock, bytearray()).status == 200
        assert wait_closed(sock, 5) is not None
    with connect(server.port) as sock:
        sock.sendall(b"GET /css/test.css HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        buffer = bytearray()
        first = read_response(sock, buffer)
        assert first.headers["connection"] == "keep-alive"
        sock.sendall(b"GET /css/test.css HTTP/1.0\r\n\r\n")
        assert read_response(sock, buffer).status == 200


# ---------------------------------------------------------------- conditional requests


def validators(server: DemoServer, path: str = "/test.html") -> tuple[str, str]:
    response = get(server.port, path)
    return response.headers["etag"], response.headers["last-modified"]


def test_if_none_match_with_current_etag_is_304(server: DemoServer) -> None:
    etag, last_modified = validators(server)
    response = get(server.port, "/test.html", {"If-None-Match": etag})
    assert response.status == 304
    assert response.body == b""
    assert response.headers["etag"] == etag
    assert response.headers["last-modified"] == last_modified
    assert "content-length" not in response.headers or response.headers["content-length"] == "0"


def test_if_none_match_weak_comparison_and_lists(server: DemoServer) -> None:
    etag, _ = validators(server)
    assert get(server.port, "/test.html", {"If-None-Match": f"W/{etag}"}).status == 304
    assert get(server.port, "/test.html", {"If-None-Match": f'"other", {etag}'}).status == 304
    assert get(server.port, "/test.html", {"If-None-Match": "*"}).status == 304
    assert get(server.port, "/test.html", {"If-None-Match": '"stale"'}).status == 200


def test_if_modified_since(server: DemoServer) -> None:
    _, last_modified = validators(server)
    assert get(server.port, "/test.html", {"If-Modified-Since": last_modified}).status == 304
    stamp = parsedate_to_datetime(last_modified).timestamp()
    later = formatdate(stamp + 3600, usegmt=True)
    earlier = formatdate(stamp - 3600, usegmt=True)
    assert get(server.port, "/test.html", {"If-Modified-Since": later}).status == 304
    assert get(server.port, "/test.html", {"If-Modified-Since": earlier}).status == 200
    # RFC 9110 §13.1.3: a date that does not parse is ignored.
    assert get(server.port, "/test.html", {"If-Modified-Since": "yesterday"}).status == 200


def test_if_none_match_takes_precedence_over_if_modified_since(server: DemoServer) -> None:
    _, last_modified = validators(server)
    headers = {"If-None-Match": '"stale"', "If-Modified-Since": last_modified}
    assert get(server.port, "/test.html", headers).status == 200


def test_if_match_and_if_unmodified_since_preconditions(server: DemoServer) -> None:
    etag, last_modified = validators(server)
    assert get(server.port, "/test.html", {"If-Match": '"stale"'}).status == 412
    assert get(server.port, "/test.html", {"If-Match": etag}).status == 200
    stamp = parsedate_to_datetime(last_modified).timestamp()
    assert get(server.port, "/test.html", {"If-Unmodified-Since": formatdate(stamp - 60, usegmt=True)}).status == 412


# ---------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    "spec, start, end",
    [("bytes=0-9", 0, 9), ("bytes=100-", 100, None), ("bytes=-25", -25, None), ("bytes=5-5", 5, 5), ("bytes=0-999999", 0, None)],
)
def test_single_range_is_206(server: DemoServer, site: Path, spec: str, start: int, end: int | None) -> None:
    data = (site / "test.html").read_bytes()
    expected = data[start:] if end is None else data[start : end + 1]
    response = get(server.port, "/test.html", {"Range": spec})
    assert response.status == 206
    assert response.body == expected
    first = start if start >= 0 else len(data) + start
    assert response.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"


def test_range_in_large_file(server: DemoServer, site: Path) -> None:
    data = (site / "large.bin").read_bytes()
    response = get(server.port, "/large.bin", {"Range": "bytes=3000000-5000000"})
    assert response.status == 206
    assert response.body == data[3000000:5000001]


def test_unsatisfiable_range_is_416(server: DemoServer, site: Path) -> None:
    size = len((site / "test.html").read_bytes())
    for spec in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        response = get(server.port, "/test.html", {"Range": spec})
        assert response.status == 416, spec
        assert response.headers["content-range"] == f"bytes */{size}"


def test_ranges_that_are_ignored_give_200(server: DemoServer) -> None:
    for spec in ("bytes=0-1,5-6", "items=0-5", "bytes=9-3", "bytes=abc"):
        assert get(server.port, "/test.html", {"Range": spec}).status == 200, spec


def test_if_range(server: DemoServer) -> None:
    etag, last_modified = validators(server)
    assert get(server.port, "/test.html", {"Range": "bytes=0-3", "If-Range": etag}).status == 206
    assert get(server.port, "/test.html", {"Range": "bytes=0-3", "If-Range": last_modified}).status == 206
    assert get(server.port, "/test.html", {"Range": "bytes=0-3", "If-Range": '"stale"'}).status == 200


def test_head_ignores_range(server: DemoServer) -> None:
    response = get(server.port, "/test.html", {"Range": "bytes=0-3"}, method="HEAD")
    assert response.status == 200


# ---------------------------------------------------------------- large files


def test_large_file_streams_whole(server: DemoServer, site: Path) -> None:
    expected = hashlib.sha256((site / "large.bin").read_bytes()).hexdigest()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/large.bin")
    response = conn.getresponse()
    digest = hashlib.sha256()
    while chunk := response.read(1 << 16):
        digest.update(chunk)
    conn.close()
    assert digest.hexdigest() == expected


def test_slow_reader_of_large_file_costs_no_server_memory(server: DemoServer) -> None:
    # Ten clients ask for 8 MiB each and read almost nothing: a server that loaded or
    # buffered the file would grow by ~80 MiB.
    before = server.rss_kib()
    sockets = []
    try:
        for _ in range(10):
            sock = connect(server.port)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(b"GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            sockets.append(sock)
        time.sleep(1.0)
        for sock in sockets:
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        time.sleep(0.5)
        grown = server.rss_kib() - before
    finally:
        for sock in sockets:
            sock.close()
    assert grown < 24 * 1024, f"server grew by {grown} KiB"


# ---------------------------------------------------------------- not found, escapes

SECRET_MARKERS = (b"TOP-SECRET", b"root:x:0:0")

ESCAPES = [
    "/../secret.txt",
    "/../../../../../../etc/passwd",
    "/..%2fsecret.txt",
    "/%2e%2e/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/.%2e/secret.txt",
    "/%252e%252e%252fsecret.txt",
    "/..%252fsecret.txt",
    "/%25252e%25252e/secret.txt",
    "/..\\secret.txt",
    "/..%5csecret.txt",
    "/%5c..%5csecret.txt",
    "/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
    "/css/../../secret.txt",
    "/css/%2e%2e/%2e%2e/secret.txt",
    "/css/..%2f..%2fsecret.txt",
    "/./../secret.txt",
    "//../secret.txt",
    "/....//secret.txt",
    "/..;/secret.txt",
    "/secret.txt%00.html",
    "/test.html%00",
    "/%00../secret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/%e0%80%ae%e0%80%ae/secret.txt",
    "/..%c0%afsecret.txt",
    "/%uff0e%uff0e/secret.txt",
    "/%ef%bc%8e%ef%bc%8e/secret.txt",
    "/escape-link",
    "/escape-link/",
    "/etc-link/passwd",
    "/etc-link/",
    "/etc-link",
    "/.env",
    "/%2eenv",
    "/css/../.env",
    "http://127.0.0.1/../secret.txt",
    "/%",
    "/%2",
    "/%zz/secret.txt",
]


@pytest.mark.parametrize("target", ESCAPES)
def test_path_escape_never_reads_outside_the_folder(server: DemoServer, target: str) -> None:
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode("latin-1")
    response = raw_request(server.port, request)
    assert response.status in (301, 400, 403, 404), (target, response.status)
    for marker in SECRET_MARKERS:
        assert marker not in response.body, target
    if response.status == 301:
        # A redirect must stay inside the folder and on this host.
        assert response.headers["location"].startswith("/") and not response.headers["location"].startswith("//")


def test_escape_list_is_long_enough() -> None:
    assert len(ESCAPES) >= 20


def test_escape_with_raw_nul_byte_is_rejected(server: DemoServer) -> None:
    response = raw_request(server.port, b"GET /test.html\x00../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status == 400


def test_hidden_dotfile_is_404(server: DemoServer) -> None:
    assert get(server.port, "/.env").status == 404


# ---------------------------------------------------------------- limits


def test_long_request_line_is_414(server: DemoServer) -> None:
    # Over the configured 4096 bytes, but well under the decoder's own limit.
    response = raw_request(server.port, f"GET /{'a' * 5000} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert response.status == 414
    assert response.headers["connection"] == "close"


def test_huge_request_line_is_414_without_buffering_it(server: DemoServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /" + b"a" * 20000)
        response = read_response(sock, bytearray())
    assert response.status == 414


def test_too_many_headers_is_431(server: DemoServer) -> None:
    headers = "".join(f"X-H{i}: {i}\r\n" for i in range(60))
    response = raw_request(server.port, f"GET / HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
    assert response.status == 431


def test_headers_too_large_is_431(server: DemoServer) -> None:
    response = raw_request(server.port, f"GET / HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * 9000}\r\n\r\n".encode())
    assert response.status == 431
    many = "".join(f"X-Mid{i}: {'m' * 400}\r\n" for i in range(30))
    assert raw_request(server.port, f"GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode()).status == 431


def test_huge_single_header_is_431(server: DemoServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Huge: " + b"h" * 40000)
        assert read_response(sock, bytearray()).status == 431


def test_declared_body_too_large_is_413_before_it_is_sent(server: DemoServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"POST /api/hello HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
        response = read_response(sock, bytearray())
        assert response.status == 413
        assert wait_closed(sock, 5) is not None


def test_chunked_body_too_large_is_413(server: DemoServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"POST /api/hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"4000\r\n" + b"z" * 0x4000 + b"\r\n"
        try:
            for _ in range(8):
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = read_response(sock, bytearray())
    assert response.status == 413


def test_body_within_limit_is_accepted_with_100_continue(server: DemoServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(
            b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        buffer = bytearray()
        interim = read_response(sock, buffer, head_request=True)
        assert interim.status == 100
        sock.sendall(b"hello")
        final = read_response(sock, buffer)
    assert final.status == 200
    assert final.headers["content-type"] == "text/plain"
    assert final.body == b"hello"


def test_chunked_body_reaches_the_route(server: DemoServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(
            b"POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        assert read_response(sock, bytearray()).body == b"hello world"


def test_wrong_method_on_route_is_405(server: DemoServer) -> None:
    response = get(server.port, "/api/hello", method="DELETE")
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS"


def test_garbage_is_400(server: DemoServer) -> None:
    assert raw_request(server.port, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n").status == 400
    assert raw_request(server.port, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n").status == 400


# ---------------------------------------------------------------- slow clients


def test_headers_sent_a_byte_at_a_time_are_cut_by_the_timeout(server: DemoServer) -> None:
    request = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(f"X-Slow-{i}: {i}\r\n".encode() for i in range(20)) + b"\r\n"
    with connect(server.port) as sock:
        start = time.monotonic()
        cut_after = None
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                cut_after = time.monotonic() - start
                break
            sock.settimeout(0.1)
            try:
                if sock.recv(1024) == b"":
                    cut_after = time.monotonic() - start
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                cut_after = time.monotonic() - start
                break
            if time.monotonic() - start > 10:
                break
    # The head timeout is 1 s; sending every byte would take over 40 s.
    assert cut_after is not None, "the server never cut the slow client"
    assert 0.8 <= cut_after <= 3.0, cut_after


def test_stalled_body_is_cut_by_the_timeout(server: DemoServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b")
        closed_after = wait_closed(sock, 5)
    assert closed_after is not None and 0.8 <= closed_after <= 3.0


def test_silent_connection_is_closed(server: DemoServer) -> None:
    with connect(server.port) as sock:
        closed_after = wait_closed(sock, 5)
    assert closed_after is not None and 0.8 <= closed_after <= 3.0


def test_idle_keep_alive_connection_is_closed(server: DemoServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /css/test.css HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock, bytearray()).status == 200
        closed_after = wait_closed(sock, 5)
    assert closed_after is not None and closed_after <= 3.0


# ---------------------------------------------------------------- CORS


def test_cors_headers_on_routes(server: DemoServer) -> None:
    response = get(server.port, "/api/hello", {"Origin": "http://elsewhere.example"})
    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_preflight(server: DemoServer) -> None:
    response = get(
        server.port,
        "/api/hello",
        {"Origin": "http://elsewhere.example", "Access-Control-Request-Method": "GET"},
        method="OPTIONS",
    )
    assert response.status == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]


def test_static_files_carry_no_cors_headers(server: DemoServer) -> None:
    response = get(server.port, "/test.html", {"Origin": "http://elsewhere.example"})
    assert "access-control-allow-origin" not in response.headers


# ---------------------------------------------------------------- access log


def test_access_log_has_one_line_per_request(server: DemoServer) -> None:
    get(server.port, "/css/test.css?marker=access-log-check")
    line = server.wait_for_log(r'127\.0\.0\.1:\d+ "GET /css/test\.css\?marker=access-log-check HTTP/1\.1" 200 \d+ [\d.]+ms')
    assert line


def test_access_log_escapes_hostile_targets(server: DemoServer) -> None:
    raw_request(server.port, b'GET /"forged" HTTP/1.1\r\nHost: x\r\nUser-Agent: a"b\r\n\r\n')
    server.wait_for_log(r'"GET /\\"forged\\" HTTP/1\.1" 404 \d+ [\d.]+ms "a\\"b"')


def test_access_log_records_refused_requests(server: DemoServer) -> None:
    raw_request(server.port, f"GET /{'q' * 5000}?refused-marker HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    server.wait_for_log(r'"GET /q+\.\.\. HTTP/1\.1" 414 ')
