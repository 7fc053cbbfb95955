"""A slow subscriber among 1,000: one client stops reading; the server's policy
(`EventStreamConfiguration`: at most --max-buffered bytes waiting, then the connection is
closed) cuts it, while 1,000 others, read by the C client bench/sse/sseload, receive every
event, in order, without gaps. Afterwards no descriptor is left open, and a second round
does not grow the server's memory."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from sse_support import Process, build_sseload, get_json, start_testserver

SUBSCRIBERS = 1000
RATE = 3           # events per second (a debug build serves CI)
PAYLOAD = 16384    # bytes of data per event
MAX_BUFFERED = 16 * 1024
# Without a fixed SO_SNDBUF the kernel grows a stuck connection's send buffer to megabytes
# before the server's own bound is reached; fixed, the policy acts within seconds.
SEND_BUFFER = 32 * 1024


@pytest.fixture(scope="module")
def sseload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sseload(tmp_path_factory.mktemp("sseload"))


def slow_subscriber(port: int) -> socket.socket:
    """Subscribes to /feed with a tiny receive buffer, and never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /feed HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    return sock


def run_round(server: Process, sseload: Path, seconds: float) -> dict[str, str]:
    result = subprocess.run(
        [str(sseload), "-p", str(server.port), "--path", "/feed", "-c", str(SUBSCRIBERS), "-w", "1",
         "-D", str(seconds), "--server-pid", str(server.pid), "--check", "-q"],
        capture_output=True, timeout=120)
    line = next((l for l in result.stdout.decode().splitlines() if l.startswith("RESULT ")), "")
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    return dict(item.split("=", 1) for item in line.split()[1:])


def wait_until_empty(server: Process) -> dict:
    deadline = time.monotonic() + 10
    while True:
        stats = get_json(server.base + "/stats")
        if stats.get("open", 0) == 0:
            return stats
        assert time.monotonic() < deadline, stats
        time.sleep(0.1)


def test_slow_subscriber_is_cut_while_a_thousand_keep_receiving(tmp_path: Path, sseload: Path) -> None:
    server = start_testserver(
        tmp_path / "server.log", "--rate", str(RATE), "--payload", str(PAYLOAD),
        "--max-buffered", str(MAX_BUFFERED), "--send-buffer", str(SEND_BUFFER), "--heartbeat", "0", "--threads", "2")
    try:
        time.sleep(0.5)
        descriptors_before = server.fd_count()
        slow = slow_subscriber(server.port)
        result = run_round(server, sseload, seconds=6)
        # Every one of the 1,000 got every event of the window, in order (--check fails
        # on a gap, a repeat or a dropped stream).
        assert int(result["open"]) == SUBSCRIBERS
        assert int(result["events"]) >= SUBSCRIBERS * RATE * 6 * 0.9, result
        deadline = time.monotonic() + 10
        while (stats := get_json(server.base + "/stats")).get("ended-tooSlow", 0) == 0:
            assert time.monotonic() < deadline, stats
            time.sleep(0.2)
        assert stats["ended-tooSlow"] == 1, stats
        # The slow client finds its stream cut once it reads what was buffered for it.
        slow.settimeout(5)
        received = 0
        while chunk := slow.recv(65536):
            received += len(chunk)
        slow.close()
        # What reached it is bounded: the kernel's buffers plus the policy's bound.
        assert received < 1024 * 1024, received
        stats = wait_until_empty(server)
        assert stats["subscribers"] == SUBSCRIBERS + 1
        time.sleep(0.5)
        assert server.fd_count() <= descriptors_before, "descriptors left open"

        rss_after_first = server.rss_kib()
        run_round(server, sseload, seconds=3)
        wait_until_empty(server)
        time.sleep(0.5)
        assert server.fd_count() <= descriptors_before
        growth = server.rss_kib() - rss_after_first
        # A leak of even 8 KiB per stream would show as 8 MB here.
        assert growth < 4 * 1024, f"RSS grew by {growth} KiB in a second round"
    finally:
        server.stop()
