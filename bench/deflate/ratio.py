#!/usr/bin/env python3
"""What the client's context is worth: bytes on the wire for a stream of messages compressed
as a permessage-deflate client would (raw deflate, level 6, memLevel 8, sync flush, tail
stripped), without context takeover and with it in 10-, 12- and 15-bit windows.

    python3 bench/deflate/ratio.py

The `.balanced` preset bounds a client's kept window to 12 bits; see
PerMessageDeflateConfiguration for the memory side.
"""
import json
import random
import zlib

random.seed(1)


def bench_text() -> bytes:
    # The 4 KB text of deflate-load.js, sent again and again.
    return ",".join('{"id":%d,"symbol":"CNL","price":%.2f}' % (i, 42 + i / 100) for i in range(200))[:4096].encode()


def chat(i: int) -> bytes:
    return json.dumps({
        "type": "message", "room": "lobby", "user": "user%d" % random.randint(1, 50),
        "text": random.choice(["hello there", "how are you?", "see you at 5", "ok", "lol that is funny", "brb"]),
        "ts": 1732600000000 + i * 137, "id": "msg-%06d" % i,
    }).encode()


def tick(i: int) -> bytes:
    return json.dumps({
        "symbol": random.choice(["CNL", "ABC", "XYZ", "FOO"]), "bid": round(random.uniform(10, 200), 2),
        "ask": round(random.uniform(10, 200), 2), "volume": random.randint(1, 10000), "seq": i,
    }).encode()


def wire_bytes(messages: list[bytes], window_bits: int, context: bool) -> int:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -window_bits, 8)
    total = 0
    for message in messages:
        if not context:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -window_bits, 8)
        total += len(compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH)) - 4
    return total


SETS = {
    "4 KB bench text x100": [bench_text()] * 100,
    "chat JSON ~115 B x1000": [chat(i) for i in range(1000)],
    "ticker JSON ~75 B x1000": [tick(i) for i in range(1000)],
}
VARIANTS = [("no context", 15, False), ("context, 10 bits", 10, True),
            ("context, 12 bits", 12, True), ("context, 15 bits", 15, True)]

print("| messages | raw bytes | " + " | ".join(v[0] for v in VARIANTS) + " |")
print("|---" * (len(VARIANTS) + 2) + "|")
for name, messages in SETS.items():
    raw = sum(map(len, messages))
    cells = []
    for _, bits, context in VARIANTS:
        sent = wire_bytes(messages, bits, context)
        cells.append(f"{sent} ({raw / sent:.1f}x)")
    print(f"| {name} | {raw} | " + " | ".join(cells) + " |")
