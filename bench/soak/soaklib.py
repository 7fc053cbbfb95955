"""Shared pieces of the soak and fault scripts: the server under test, its memory and
descriptors from /proc, wsload, and a raw WebSocket client small enough to misbehave."""
import base64
import os
import re
import resource
import select
import socket
import statistics
import subprocess
import sys
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CANAL = os.environ.get("CANAL_BIN", os.path.join(ROOT, ".build/release/canal"))
OUT = os.path.join(ROOT, "bench/out/soak")
WSLOAD_SRC = os.environ.get("WSLOAD_SRC", os.path.join(ROOT, "../shared/bench/wsload/wsload.c"))
WSLOAD = os.path.join(ROOT, "bench/out/wsload")


def raise_fd_limit(want=200_000):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(target, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """`canal serve ARGS` on 127.0.0.1 with a free port; stops with SIGINT."""

    def __init__(self, *args, nofile=None, log_name="server"):
        os.makedirs(OUT, exist_ok=True)
        if not os.access(CANAL, os.X_OK):
            sys.exit(f"{CANAL} not found: build it with `swift build -c release --product canal` (or set CANAL_BIN)")
        self.log_path = os.path.join(OUT, f"{log_name}.log")
        self.log = open(self.log_path, "w")
        command = [CANAL, "serve", "--host", "127.0.0.1", "--port", "0", *args]

        def limits():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self.log, text=True, preexec_fn=limits
        )
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline and self.port is None:
            line = self.process.stdout.readline()
            if not line:
                break
            match = re.search(r"127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
        if self.port is None:
            self.stop()
            sys.exit(f"the server did not start (see {self.log_path})")

    @property
    def pid(self):
        return self.process.pid

    def rss_kb(self):
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(2)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def build_wsload():
    if os.access(WSLOAD, os.X_OK) and os.path.getmtime(WSLOAD) > os.path.getmtime(WSLOAD_SRC):
        return WSLOAD
    os.makedirs(os.path.dirname(WSLOAD), exist_ok=True)
    flags = ["gcc", "-O2", "-Wall", "-Wextra", "-o", WSLOAD, WSLOAD_SRC]
    if subprocess.run(flags + ["-lcrypto", "-lpthread"], capture_output=True).returncode != 0:
        subprocess.run(flags + ["-DWSLOAD_NO_OPENSSL", "-lpthread"], check=True)
    subprocess.run([WSLOAD, "--selftest"], check=True, capture_output=True)
    return WSLOAD


def wsload(*args, timeout=None):
    """Runs wsload and returns its RESULT line as a dict (and the exit status)."""
    run = subprocess.run([build_wsload(), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    result = {}
    for line in run.stdout.splitlines():
        if line.startswith("RESULT "):
            for item in line.split()[1:]:
                key, _, value = item.partition("=")
                result[key] = value
    return result, run.returncode


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def summary_ms(values):
    if not values:
        return "no samples"
    return (f"n={len(values)} p50={percentile(values, 50) * 1000:.1f} ms p99={percentile(values, 99) * 1000:.1f} ms "
            f"max={max(values) * 1000:.1f} ms")


# ---------------------------------------------------------------- raw WebSocket

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def upgrade_request(path="/", extra=()):
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {KEY}", "Sec-WebSocket-Version: 13", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def frame(opcode, payload, fin=True, rsv1=False, mask=b"\x01\x02\x03\x04"):
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    n = len(payload)
    if n <= 125:
        head += bytes([0x80 | n])
    elif n <= 0xFFFF:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    # A fixed key keeps large frames cheap to build: XOR with a repeating 4-byte pattern.
    key = (mask * ((n + 3) // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big") if n else b""
    return head + mask + masked


def raw_deflate(data):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]


def connect(port, timeout=10):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_head(sock, timeout=10):
    data = b""
    deadline = time.time() + timeout
    while b"\r\n\r\n" not in data:
        sock.settimeout(max(0.01, deadline - time.time()))
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def read_frames(sock, buffer, count=1, timeout=10):
    """Reads server frames (unmasked) until `count` are complete; returns (frames, rest)."""
    frames = []
    deadline = time.time() + timeout
    while len(frames) < count:
        while len(buffer) >= 2:
            length = buffer[1] & 0x7F
            offset = 2
            if length == 126:
                if len(buffer) < 4:
                    break
                length = int.from_bytes(buffer[2:4], "big")
                offset = 4
            elif length == 127:
                if len(buffer) < 10:
                    break
                length = int.from_bytes(buffer[2:10], "big")
                offset = 10
            if len(buffer) < offset + length:
                break
            frames.append((buffer[0] & 0x0F, buffer[offset:offset + length]))
            buffer = buffer[offset + length:]
            if len(frames) == count:
                return frames, buffer
        remaining = deadline - time.time()
        if remaining <= 0:
            raise TimeoutError(f"{len(frames)}/{count} frames")
        sock.settimeout(remaining)
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError(f"closed after {len(frames)}/{count} frames")
        buffer += chunk
    return frames, buffer


class EchoProbe:
    """A well-behaved WebSocket client that measures echo round trips while the server is
    under attack."""

    def __init__(self, port, path="/"):
        self.sock = connect(port)
        self.sock.sendall(upgrade_request(path))
        head, self.buffer = read_head(self.sock)
        if " 101 " not in head.split("\r\n")[0]:
            raise RuntimeError(f"probe upgrade failed: {head.splitlines()[:1]}")

    def round_trip(self, size=64, timeout=10):
        start = time.perf_counter()
        self.sock.sendall(frame(0x2, b"p" * size))
        frames, self.buffer = read_frames(self.sock, self.buffer, 1, timeout)
        return time.perf_counter() - start

    def measure(self, seconds, size=64):
        samples = []
        end = time.time() + seconds
        while time.time() < end:
            samples.append(self.round_trip(size))
        return samples

    def close(self):
        self.sock.close()
