"""The field-parsing rules of WHATWG HTML §9.2.6, checked by two clients against our
server: headless Chromium's own EventSource, and our Swift client (through ``canal sse
--json``). The server writes each case's bytes as they are (``/raw``), split into the
chunks given, so that line ends and UTF-8 sequences fall across reads."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from sse_support import Process, canal_sse, json_lines

# (name, chunks written one after another, events expected as (type, data, lastEventId))
CASES = [
    ("lf", [b"data: a\n\ndata: b\ndata: c\n\n"], [("message", "a", ""), ("message", "b\nc", "")]),
    ("cr", [b"data: a\r\rdata: b\rdata: c\r\r"], [("message", "a", ""), ("message", "b\nc", "")]),
    ("crlf", [b"data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\n"], [("message", "a", ""), ("message", "b\nc", "")]),
    ("mixed", [b"data: a\r\ndata: b\rdata: c\n\r\n"], [("message", "a\nb\nc", "")]),
    ("crlf-split", [b"data: sp", b"lit\r", b"\ndata: x\r", b"\n\r", b"\n"], [("message", "split\nx", "")]),
    ("space", [b"data:none\n\ndata: one\n\ndata:  two\n\ndata:\ttab\n\n"],
     [("message", "none", ""), ("message", "one", ""), ("message", " two", ""), ("message", "\ttab", "")]),
    ("join", [b"data: one\ndata:\ndata: three\n\ndata\n\ndata:\ndata:\n\n"],
     [("message", "one\n\nthree", ""), ("message", "", ""), ("message", "\n", "")]),
    ("type", [b"event: custom\ndata: x\n\ndata: y\n\nevent\ndata: z\n\n"],
     [("custom", "x", ""), ("message", "y", ""), ("message", "z", "")]),
    ("id-null", [b"id: 1\ndata: a\n\nid: 2\x00x\ndata: b\n\nid\ndata: c\n\n"],
     [("message", "a", "1"), ("message", "b", "1"), ("message", "c", "")]),
    ("id-persists", [b"id: 7\n\ndata: after\n\n"], [("message", "after", "7")]),
    ("no-data", [b"event: nothing\n\nid: 3\n\n: comment only\n\ndata: last\n\n"], [("message", "last", "3")]),
    ("comments-and-unknown", [b": hello\ndata: x\n: more\n\nunknown: y\nData: no\ndata: z\n\n"],
     [("message", "x", ""), ("message", "z", "")]),
    ("bom", [b"\xef\xbb\xbfdata: a\n\n"], [("message", "a", "")]),
    ("utf8-split", [b"data: caf\xc3", b"\xa9 \xf0\x9f", b"\x8c\x8a\n\n"], [("message", "caf\u00e9 \U0001f30a", "")]),
    ("incomplete", [b"data: complete\n\ndata: never dispatched"], [("message", "complete", "")]),
]
CUSTOM_TYPES = {"custom", "nothing"}


def raw_path(chunks: list[bytes], delay: int = 30) -> str:
    encoded = ".".join(base64.b64encode(chunk).decode() for chunk in chunks)
    return f"/raw?delay={delay}&chunks={quote(encoded)}"


# Collects every event until the first error (the stream ended), then closes the source.
COLLECT = """
const [path, types] = arguments;
const done = arguments[arguments.length - 1];
const events = [];
const source = new EventSource(path);
const record = (event) => events.push([event.type, event.data, event.lastEventId]);
source.onmessage = record;
for (const type of types) source.addEventListener(type, record);
source.onerror = () => { source.close(); done(events); };
setTimeout(() => { source.close(); done(events); }, 10000);
"""


@pytest.mark.browser
@pytest.mark.parametrize("name,chunks,expected", CASES, ids=[case[0] for case in CASES])
def test_chromium_event_source_reads_our_stream(testserver: Process, browser, name, chunks, expected) -> None:
    if not browser.current_url.startswith(testserver.base):
        browser.get(testserver.base + "/stats")  # any page of the server, for its origin
    events = browser.execute_async_script(COLLECT, raw_path(chunks), sorted(CUSTOM_TYPES))
    assert [tuple(event) for event in events] == expected


@pytest.mark.parametrize("name,chunks,expected", CASES, ids=[case[0] for case in CASES])
def test_swift_client_reads_our_stream(testserver: Process, name, chunks, expected) -> None:
    result = canal_sse("--json", "--no-reconnect", testserver.base + raw_path(chunks))
    assert result.returncode == 0, result.stderr.decode()
    assert [(e["type"], e["data"], e["id"]) for e in json_lines(result.stdout)] == expected


RETRY = """
const done = arguments[arguments.length - 1];
const source = new EventSource(arguments[0]);
source.addEventListener("waited", (event) => { source.close(); done(Number(event.data)); });
setTimeout(() => { source.close(); done(-1); }, 10000);
"""


@pytest.mark.browser
def test_chromium_takes_only_the_all_digit_retry(testserver: Process, browser) -> None:
    # The server sends "retry: 2000x", "retry: +100", "retry: 300", "retry: 1.5": only
    # 300 counts, so the browser comes back after about 300 ms (not 100, 2000 or 3000).
    browser.get(testserver.base + "/stats")
    waited = browser.execute_async_script(RETRY, "/retry-check?ms=300")
    assert 250 <= waited < 1500, waited


def test_swift_client_takes_only_the_all_digit_retry(testserver: Process) -> None:
    result = canal_sse("--json", "--count", "2", testserver.base + "/retry-check?ms=300")
    assert result.returncode == 0, result.stderr.decode()
    first, second = json_lines(result.stdout)
    assert (first["data"], first["id"]) == ("first", "retry-1")
    assert second["type"] == "waited"
    assert 250 <= int(second["data"]) < 1500, second
