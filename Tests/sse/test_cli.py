"""`canal sse URL`: what it prints (plain, --json, on a terminal), its errors and exit
statuses, and reconnection with Last-Event-ID."""

from __future__ import annotations

import base64
import os
import pty
import re
import select
import subprocess
import time
from urllib.parse import quote

from sse_support import Process, binary, canal_sse, free_port, json_lines


def raw(chunks: list[bytes]) -> str:
    return "/raw?chunks=" + quote(".".join(base64.b64encode(c).decode() for c in chunks))


def test_help_lists_the_options() -> None:
    result = subprocess.run([str(binary("canal")), "sse", "--help"], capture_output=True, timeout=10)
    assert result.returncode == 0
    text = result.stdout.decode()
    for option in ("--json", "--last-event-id", "--no-reconnect", "--max-reconnects", "--count", "--header"):
        assert option in text
    overview = subprocess.run([str(binary("canal")), "--help"], capture_output=True, timeout=10).stdout.decode()
    assert "canal sse <url>" in overview


def test_piped_output_is_the_data_of_each_event(testserver: Process) -> None:
    result = canal_sse("--no-reconnect", testserver.base + raw([b"event: tick\nid: 1\ndata: one\n\ndata: two\ndata: lines\n\n"]))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == "one\ntwo\nlines\n"
    assert "Connected" in result.stderr.decode()


def test_json_output_carries_type_id_and_data(testserver: Process) -> None:
    result = canal_sse("--json", "-q", "--no-reconnect", testserver.base + raw([b"event: tick\nid: 1\ndata: a\"b\n\n"]))
    assert result.returncode == 0
    assert json_lines(result.stdout) == [{"type": "tick", "id": "1", "data": 'a"b'}]
    assert result.stderr == b""


def test_count_stops_after_n_events_and_reconnects_with_last_event_id(testserver: Process) -> None:
    # /count sends 10 events 100 ms apart; --last-event-id 4 resumes after the fourth.
    result = canal_sse("--json", "--count", "3", "--last-event-id", "4", testserver.base + "/count?n=10&interval=50")
    assert result.returncode == 0
    assert [e["data"] for e in json_lines(result.stdout)] == ["tick 5", "tick 6", "tick 7"]
    assert "Last-Event-ID=4" in testserver.log()


def test_server_ending_the_stream_with_204_exits_0(testserver: Process) -> None:
    result = canal_sse("--last-event-id", "10", testserver.base + "/count?n=10")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""


def test_errors_have_clear_messages_and_exit_statuses(testserver: Process) -> None:
    refused = canal_sse(f"http://127.0.0.1:{free_port()}/feed")
    assert refused.returncode == 1
    assert "connection refused (is the server running?)" in refused.stderr.decode()

    missing = canal_sse(testserver.base + "/nothing-here")
    assert missing.returncode == 1
    assert "404" in missing.stderr.decode()

    not_a_stream = canal_sse(testserver.base + "/stats")
    assert not_a_stream.returncode == 1
    assert "not text/event-stream" in not_a_stream.stderr.decode()

    for arguments in (["ws://127.0.0.1/"], ["--count", "0", testserver.base + "/feed"], ["-H", "broken", testserver.base]):
        usage = canal_sse(*arguments)
        assert usage.returncode == 2, arguments
        assert usage.stderr.decode().startswith("error: "), usage.stderr


def test_stream_dropped_without_reconnecting_exits_3(tmp_path) -> None:
    from sse_support import start_testserver
    import signal
    server = start_testserver(tmp_path / "server.log")
    client = subprocess.Popen([str(binary("canal")), "sse", "--no-reconnect", server.base + "/count?n=100&interval=100"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert client.stdout is not None
        assert client.stdout.readline() == b"tick 1\n"
        server.stop(signal.SIGKILL)
        assert client.wait(timeout=10) == 3
    finally:
        if client.poll() is None:
            client.kill()
        server.stop()


def test_terminal_output_shows_type_id_and_colour(testserver: Process) -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(binary("canal")), "sse", "--count", "2", testserver.base + raw([b"event: tick\nid: 7\ndata: a\ndata: b\n\ndata: plain\n\n"])],
        stdin=terminal, stdout=terminal, stderr=terminal, env={k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"TERM": "xterm"})
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    os.close(controller)
    assert process.wait(timeout=5) == 0
    text = output.decode(errors="replace")
    plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text).replace("\r", "")
    assert "Connected (press CTRL+C to quit)" in plain
    assert "< [tick id=7] a\n  b\n" in plain
    assert "< [id=7] plain" in plain  # the last event id carries over
    assert "\x1b[" in text  # coloured on a terminal
