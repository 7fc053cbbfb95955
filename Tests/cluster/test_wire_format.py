"""CanalSocketIORedis's wire format against an independent implementation: PyPI's msgpack
and Python's json, reading and writing the format of @socket.io/redis-streams-adapter 0.2.

The Swift side runs as a JSON-lines filter (.build/debug/canal-redis-wire, directory from
CANAL_BIN_DIR). Binary values travel as {"$binary": "hex"} between the two.
"""
import base64
import json
import os
import subprocess
from pathlib import Path

import msgpack
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def bin_dir() -> Path:
    env = os.environ.get("CANAL_BIN_DIR")
    return Path(env).expanduser().resolve() if env else ROOT / ".build" / "debug"


def ours(requests):
    tool = bin_dir() / "canal-redis-wire"
    if not (tool.is_file() and os.access(tool, os.X_OK)):
        pytest.fail(f"{tool} missing: run `swift build --product canal-redis-wire` (or set CANAL_BIN_DIR)")
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests)
    proc = subprocess.run([str(tool)], input=data.encode(), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    lines = [line for line in proc.stdout.decode().split("\n") if line]
    assert len(lines) == len(requests)
    return [json.loads(line) for line in lines]


def to_wire(value):
    """Python value (bytes for binary) -> the tool's JSON form."""
    if isinstance(value, (bytes, bytearray)):
        return {"$binary": bytes(value).hex()}
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    return value


def from_wire(value):
    if isinstance(value, dict):
        if set(value) == {"$binary"}:
            return bytes.fromhex(value["$binary"])
        return {k: from_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_wire(v) for v in value]
    return value


CORPUS = [
    None, True, False, 0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**53, 2**63 - 1,
    -1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**63),
    1.5, -0.25, 3.141592653589793, 1e300, -2.5e-10,
    "", "a", "é 😀 \n\t \"q\"", "x" * 31, "x" * 32, "y" * 255, "y" * 256, "z" * 70000,
    b"", b"\x00\x01\xff", bytes(range(256)) * 300,
    [], [1, "a", None], list(range(15)), list(range(16)), list(range(70000)),
    {}, {"a": 1}, {f"k{i}": i for i in range(15)}, {f"k{i}": i for i in range(16)},
    {"packet": {"type": 2, "data": ["file", b"\x01\x02\x03", {"nested": [b"\xff"]}], "nsp": "/"},
     "opts": {"rooms": ["r"], "except": [], "flags": {}}},
]


def test_our_msgpack_bytes_are_msgpack_pythons():
    answers = ours([{"op": "msgpack-encode", "value": to_wire(v)} for v in CORPUS])
    for value, answer in zip(CORPUS, answers):
        assert answer["ok"], answer
        expected = msgpack.packb(value, use_bin_type=True)
        assert bytes.fromhex(answer["hex"]) == expected, repr(value)[:80]


def test_we_decode_what_msgpack_python_writes():
    # msgpack-python's other forms too: float 32, str 16 for short text, integer map keys.
    extra = [
        (msgpack.packb(1.5, use_single_float=True), 1.5),
        (b"\xda\x00\x01a", "a"),
        (b"\xde\x00\x01\xa1a\x01", {"a": 1}),
        (msgpack.packb({1: "one"}), {"1": "one"}),
        (msgpack.packb(2**64 - 1), 2**64 - 1),
    ]
    cases = [(msgpack.packb(v, use_bin_type=True), v) for v in CORPUS] + extra
    answers = ours([{"op": "msgpack-decode", "hex": raw.hex()} for raw, _ in cases])
    for (raw, value), answer in zip(cases, answers):
        assert answer["ok"], answer
        assert from_wire(answer["value"]) == value, repr(value)[:80]


def test_we_refuse_ext_types_and_truncation():
    bad = [b"\xd4\x01\x00", msgpack.packb(msgpack.ExtType(5, b"abc")), b"\x92\x01", b"\xc4\x05ab", b"\xc1"]
    for answer in ours([{"op": "msgpack-decode", "hex": raw.hex()} for raw in bad]):
        assert answer["ok"] is False and "MessagePack" in answer["error"]


def decode_data(raw):
    """As the Node adapter's decode does: JSON when it starts with '{', else base64 MessagePack."""
    if raw.startswith("{"):
        return json.loads(raw)
    return msgpack.unpackb(base64.b64decode(raw), raw=False)


def test_broadcast_entries_read_as_the_node_adapter_reads_them():
    plain = {"packet": {"type": 2, "data": ["news", {"n": 1}], "nsp": "/"},
             "opts": {"rooms": ["r1"], "except": ["x"], "flags": {"volatile": True}}}
    binary = {"packet": {"type": 2, "data": ["file", b"\x00\x01"], "nsp": "/chat"},
              "opts": {"rooms": [], "except": [], "flags": {}}}
    join = {"opts": {"rooms": ["a"], "except": [], "flags": {}}, "rooms": [b"not-binary-type".decode()]}
    requests = [
        {"op": "message-encode", "message": {"uid": "0123456789abcdef", "nsp": "/", "type": 3, "data": to_wire(plain)}},
        {"op": "message-encode", "message": {"uid": "0123456789abcdef", "nsp": "/chat", "type": 3, "data": to_wire(binary)}},
        {"op": "message-encode", "message": {"uid": "u", "nsp": "/", "type": 4, "data": join}},
        {"op": "message-encode", "message": {"uid": "u", "nsp": "/", "type": 2}},
    ]
    a, b, c, d = ours(requests)
    assert a["fields"]["type"] == "3" and a["fields"]["uid"] == "0123456789abcdef" and a["fields"]["nsp"] == "/"
    assert a["fields"]["data"].startswith("{") and decode_data(a["fields"]["data"]) == plain
    assert not b["fields"]["data"].startswith("{") and decode_data(b["fields"]["data"]) == binary
    assert decode_data(c["fields"]["data"]) == join
    assert d["fields"] == {"uid": "u", "nsp": "/", "type": "2"}


def test_we_read_entries_written_the_node_way():
    binary = {"packet": {"type": 2, "data": ["f", b"\xff" * 3], "nsp": "/"}, "opts": {"rooms": ["r"], "except": [], "flags": {}}}
    fields = [
        {"uid": "emitter", "nsp": "/", "type": "3",
         "data": json.dumps({"packet": {"type": 2, "data": ["hi", 1.5, None], "nsp": "/"},
                             "opts": {"rooms": [], "except": [], "flags": {}}})},
        {"uid": "abc", "nsp": "/", "type": "3",
         "data": base64.b64encode(msgpack.packb(binary, use_bin_type=True)).decode()},
        {"uid": "abc", "nsp": "/", "type": "11", "data": json.dumps({"requestId": "r1", "clientCount": 4})},
        {"uid": "abc", "nsp": "/", "type": "42"},
    ]
    answers = ours([{"op": "message-decode", "fields": f} for f in fields])
    assert answers[0]["ok"] and answers[0]["message"]["data"]["packet"]["data"] == ["hi", 1.5, None]
    assert answers[1]["ok"] and from_wire(answers[1]["message"]["data"]) == binary
    assert answers[2]["message"] == {"uid": "abc", "nsp": "/", "type": 11, "data": {"requestId": "r1", "clientCount": 4}}
    assert answers[3]["ok"] is False


def test_sessions_are_base64_msgpack_both_ways():
    session = {"sid": "s1", "pid": "p1", "rooms": ["blue", "s1"], "data": {"user": "ana", "n": 3, "raw": b"\x01"}}
    (encoded,) = ours([{"op": "session-encode", "session": to_wire(session)}])
    assert msgpack.unpackb(base64.b64decode(encoded["value"]), raw=False) == session
    node_way = base64.b64encode(msgpack.packb(session, use_bin_type=True)).decode()
    (decoded,) = ours([{"op": "session-decode", "value": node_way}])
    assert from_wire(decoded["session"]) == session
