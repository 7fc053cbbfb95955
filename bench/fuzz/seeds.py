#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target from the byte fixtures of Canal's tests.

Usage: bench/fuzz/seeds.py OUTPUT_DIR

Each target gets the hex fixtures and string literals of the test files that exercise
its parser (decoded as Swift would: \\r, \\n, \\t, \\", \\\\, \\u{...}; raw #"..."# strings
as they are), plus a few frames built here that a fixture cannot spell (masked client
frames for the server, compressed messages). Each seed starts with the mode byte 0
(the whole input in one read; see Tests/Fuzz/Sources/FuzzSupport/FuzzInput.swift).
"""
import hashlib
import os
import re
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Which test files hold each target's fixtures, and which kinds of literal to take.
SOURCES = {
    "FuzzWebSocketServer": (["Tests/CanalWebSocketCoreTests"], "hex"),
    "FuzzWebSocketClient": (["Tests/CanalWebSocketCoreTests"], "hex"),
    "FuzzWebSocketDeflate": (["Tests/CanalWebSocketCompressionTests/PerMessageDeflateCodecTests.swift"], "hex"),
    "FuzzDeflateParameters": (["Tests/CanalWebSocketCompressionTests/PerMessageDeflateNegotiationTests.swift"], "string"),
    "FuzzServerHandshake": (["Tests/CanalWebSocketCoreTests/ServerHandshakeTests.swift"], "string"),
    "FuzzClientHandshake": (["Tests/CanalWebSocketCoreTests/ClientHandshakeTests.swift",
                             "Tests/CanalWebSocketCoreTests/WebSocketURLTests.swift"], "string"),
    "FuzzHTTPRequestHead": (["Tests/CanalHTTPTests", "Tests/CanalWebSocketTests/RawSocketTests.swift"], "string"),
    "FuzzEnginePayload": (["Tests/CanalEngineIOCoreTests"], "string"),
    "FuzzSocketIOPacket": (["Tests/CanalSocketIOCoreTests"], "string"),
    "FuzzRESP": (["Tests/CanalRedisTests/RESPDecoderTests.swift"], "hexstring"),
    "FuzzMessagePack": (["Tests/CanalSocketIORedisTests/MessagePackTests.swift"], "hexstring"),
    "FuzzServerSentEvents": (["Tests/CanalSSECoreTests"], "string"),
}

HEX = re.compile(r'hex\(\s*"([0-9a-fA-F :_\n]*)"\s*\)')
RAW = re.compile(r'#"(.*?)"#')
PLAIN = re.compile(r'(?<![#\w])"((?:[^"\\\n]|\\.)*)"')


def swift_unescape(text):
    if "\\(" in text:
        return None  # interpolation: not a fixed fixture
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = text[i + 1] if i + 1 < len(text) else ""
        if n == "u" and text[i + 2:i + 3] == "{":
            end = text.index("}", i)
            out.append(chr(int(text[i + 3:end], 16)))
            i = end + 1
            continue
        out.append({"r": "\r", "n": "\n", "t": "\t", "0": "\0", '"': '"', "\\": "\\", "'": "'"}.get(n, n))
        i += 2
    return "".join(out).encode("utf-8")


def files(paths):
    for path in paths:
        full = os.path.join(ROOT, path)
        if os.path.isdir(full):
            for name in sorted(os.listdir(full)):
                if name.endswith(".swift"):
                    yield os.path.join(full, name)
        elif os.path.exists(full):
            yield full


def literals(paths, kind):
    for path in files(paths):
        text = open(path, encoding="utf-8").read()
        if kind == "hex":
            for match in HEX.finditer(text):
                digits = re.sub(r"[ :_\n]", "", match.group(1))
                if digits and len(digits) % 2 == 0:
                    yield bytes.fromhex(digits)
        elif kind == "hexstring":
            # Plain string literals that spell bytes in hex ("2b4f4b0d0a").
            for match in PLAIN.finditer(text):
                digits = match.group(1)
                if len(digits) >= 2 and len(digits) % 2 == 0 and re.fullmatch(r"[0-9a-fA-F]+", digits):
                    yield bytes.fromhex(digits)
        else:
            for match in RAW.finditer(text):
                if "\\(" not in match.group(1):
                    yield match.group(1).encode("utf-8")
            for match in PLAIN.finditer(text):
                value = swift_unescape(match.group(1))
                if value:
                    yield value


def frame(opcode, payload, fin=True, rsv1=False, mask=b"\x37\xfa\x21\x3d"):
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    bit = 0x80 if mask else 0
    n = len(payload)
    if n <= 125:
        head += bytes([bit | n])
    elif n <= 0xFFFF:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def deflate(data):
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4] if out.endswith(b"\x00\x00\xff\xff") else out


def built(target):
    """Seeds a fixture cannot spell."""
    masked = target in ("FuzzWebSocketServer", "FuzzWebSocketDeflate")
    mask = b"\x37\xfa\x21\x3d" if masked else None
    seeds = []
    if target in ("FuzzWebSocketServer", "FuzzWebSocketClient"):
        seeds += [
            frame(0x1, b"Hello", mask=mask),
            frame(0x1, b"Hel", fin=False, mask=mask) + frame(0x9, b"p", mask=mask) + frame(0x0, b"lo", mask=mask),
            frame(0x2, bytes(range(200)), mask=mask),
            frame(0x1, "κόσμε".encode(), mask=mask) + frame(0x8, b"\x03\xe8bye", mask=mask),
            frame(0x1, b"Ping me", mask=mask) + frame(0x1, b"Close now", mask=mask),
            frame(0xA, b"unsolicited", mask=mask) + frame(0x8, b"", mask=mask),
        ]
    if target == "FuzzWebSocketDeflate":
        seeds += [
            frame(0x1, deflate(b"Hello"), rsv1=True, mask=mask),
            frame(0x2, deflate(bytes(5000)), rsv1=True, mask=mask),
            frame(0x1, deflate(b"Hello Hello Hello")[:5], fin=False, rsv1=True, mask=mask)
            + frame(0x0, deflate(b"Hello Hello Hello")[5:], mask=mask),
            frame(0x2, deflate(bytes(100000)), rsv1=True, mask=mask),
        ]
    if target == "FuzzHTTPRequestHead":
        seeds += [
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            + frame(0x1, b"Hello"),
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            b"GET /hello?name=Ana HTTP/1.1\r\nHost: x\r\n\r\nGET /none HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
    if target == "FuzzServerHandshake":
        seeds += [
            b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        ]
    if target == "FuzzClientHandshake":
        seeds += [
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n"
            b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n",
            b"ws://example.com:8080/chat?x=1\r\n",
        ]
    return seeds


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    for target, (paths, kind) in SOURCES.items():
        directory = os.path.join(out, target)
        os.makedirs(directory, exist_ok=True)
        count = 0
        for seed in list(literals(paths, kind)) + built(target):
            data = b"\x00" + seed
            name = hashlib.sha1(data).hexdigest()
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)
            count += 1
        print(f"{target}: {count} seeds")


if __name__ == "__main__":
    main()
