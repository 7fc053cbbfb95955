"""Interop of CanalSocketIOCore's packet codec with the official socket.io-parser (Debian node-socket.io-parser).

Both codecs run as JSON-lines filters: Tests/sioparser/official.js and .build/debug/canal-sio-codec
(directory from CANAL_BIN_DIR). Binary data travels as {"$binary": "hex"} in both.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def bin_dir() -> Path:
    env = os.environ.get("CANAL_BIN_DIR")
    return Path(env).expanduser().resolve() if env else ROOT / ".build" / "debug"


def run_lines(cmd, requests, env=None):
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests)
    proc = subprocess.run(cmd, input=data.encode(), capture_output=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    lines = [l for l in proc.stdout.decode().split("\n") if l]
    assert len(lines) == len(requests), proc.stderr.decode(errors="replace")
    return [json.loads(l) for l in lines]


def ours(requests):
    tool = bin_dir() / "canal-sio-codec"
    if not (tool.is_file() and os.access(tool, os.X_OK)):
        pytest.fail(f"{tool} missing: run `swift build --product canal-sio-codec` (or set CANAL_BIN_DIR)")
    return run_lines([str(tool)], requests)


def official(requests):
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("node missing (Debian package nodejs)")
    env = dict(os.environ)
    env["NODE_PATH"] = os.pathsep.join(p for p in [env.get("NODE_PATH"), "/usr/share/nodejs"] if p)
    return run_lines([node, str(HERE / "official.js")], requests, env=env)


def b(hexstr):
    return {"$binary": hexstr}


CORPUS = [
    {"type": 0},
    {"type": 0, "nsp": "/admin", "data": {"token": "abc", "n": 1}},
    {"type": 1},
    {"type": 1, "nsp": "/admin"},
    {"type": 2, "data": ["echo", "x" * 64]},
    {"type": 2, "nsp": "/chat", "id": 12, "data": ["message", {"text": "hé 😀 \u2028 \"q\" \\ \n\t\u0001", "to": [1, 2.5, -3]}]},
    {"type": 2, "id": 0, "data": ["e", None, True, False, [], {}]},
    {"type": 2, "data": [42, "numeric event name"]},
    {"type": 3, "id": 7, "data": []},
    {"type": 3, "nsp": "/x", "id": 123456, "data": ["ok", {"deep": [[[{"a": [1]}]]]}]},
    {"type": 4, "data": {"message": "not allowed", "data": {"code": 3}}},
    {"type": 4, "nsp": "/admin", "data": "plain string error"},
    {"type": 2, "data": ["upload", b("00ff10"), {"k": [b(""), {"z": b("deadbeef")}]}]},
    {"type": 2, "nsp": "/files", "id": 9, "data": ["up", [b("01"), b("0202")], {"x": b("030303")}]},
    {"type": 3, "id": 4, "data": [b("cafe")]},
    {"type": 3, "nsp": "/n", "id": 5, "data": [{"nested": [{"bin": b("ab")}, "t"]}]},
]


def normalise(p):
    """The shape both sides print: type, nsp, id when present, data when present."""
    out = {"type": p["type"], "nsp": p.get("nsp", "/")}
    if "id" in p:
        out["id"] = p["id"]
    if "data" in p:
        out["data"] = p["data"]
    return out


def binary_type(p):
    has_bin = "$binary" in json.dumps(p.get("data"))
    if has_bin and p["type"] in (2, 3):
        return p["type"] + 3
    return p["type"]


def test_our_encoding_is_byte_identical_to_the_official_encoding():
    reqs = [{"op": "encode", "packet": p} for p in CORPUS]
    mine, theirs = ours(reqs), official(reqs)
    for p, m, t in zip(CORPUS, mine, theirs):
        assert m["ok"] and t["ok"], (p, m, t)
        assert m["text"] == t["text"], p
        assert m["attachments"] == t["attachments"], p


def test_official_decoder_reads_what_we_encode_to_the_same_value():
    encoded = ours([{"op": "encode", "packet": p} for p in CORPUS])
    decoded = official([{"op": "decode", "text": e["text"], "attachments": e["attachments"]} for e in encoded])
    for p, d in zip(CORPUS, decoded):
        assert d["ok"], (p, d)
        want = normalise(p)
        want["type"] = binary_type(p)
        assert d["packet"] == want


def test_we_decode_what_the_official_encoder_writes_to_the_same_value():
    encoded = official([{"op": "encode", "packet": p} for p in CORPUS])
    decoded = ours([{"op": "decode", "text": e["text"], "attachments": e["attachments"]} for e in encoded])
    for p, d in zip(CORPUS, decoded):
        assert d["ok"], (p, d)
        want = normalise(p)
        want["type"] = binary_type(p)
        assert d["packet"] == want


INVALID = [
    "7", "9[]", "x", "2[]", "2{}", '2"a"', "2[null]", "2[{}]", '0"x"', "1{}", "1[]", "3{}",
    '3"a"', '2["a"]x', "21x", '5["a"]', '5x-["a"]', '2["a"', "2[1,]", '2["a"] //c', "2[NaN]", "2[01]", "3[1 2]",
    '0/admin,{"a":}', "2/a,[\"\\x\"]", '4{"a":1',
]


def test_what_the_official_decoder_rejects_we_reject():
    reqs = [{"op": "decode", "text": t} for t in INVALID]
    theirs, mine = official(reqs), ours(reqs)
    for t, th, m in zip(INVALID, theirs, mine):
        assert not th["ok"], f"official accepts {t!r}: {th}"
        assert not m["ok"], f"we accept {t!r}: {m}"


# socket.io-parser 4.2.1 (Debian) accepts these, against the protocol document (CONNECT: object; CONNECT_ERROR:
# object or string; EVENT: name first) and later 4.2.x releases, which reject reserved event names. We reject them.
STRICTER = ["0[]", "4[]", '2["connect"]', '2["disconnecting"]', "2", ""]


def test_we_reject_what_the_protocol_forbids_even_where_parser_4_2_1_accepts():
    for t, m in zip(STRICTER, ours([{"op": "decode", "text": t} for t in STRICTER])):
        assert not m["ok"], f"we accept {t!r}: {m}"


def test_invalid_placeholder_is_rejected_by_both():
    cases = [
        ('51-["e",{"_placeholder":true,"num":1}]', ["00"]),
        ('51-["e",{"_placeholder":true,"num":-1}]', ["00"]),
        ('51-["e",{"_placeholder":true,"num":"0"}]', ["00"]),
    ]
    reqs = [{"op": "decode", "text": t, "attachments": a} for t, a in cases]
    for th, m, c in zip(official(reqs), ours(reqs), cases):
        assert not th["ok"], (c, th)
        assert not m["ok"], (c, m)
