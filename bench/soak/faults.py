#!/usr/bin/env python3
"""Fault scenarios against `canal serve`, each reporting figures and whether the server
kept its documented limit while serving a well-behaved client at full speed:

  slowloris-http     clients sending a request head a byte at a time (requestHeadTimeout)
  slowloris-upgrade  the same on the WebSocket upgrade, for WebSocketServer and HTTPServer
  slowloris-polling  Engine.IO long-polling POSTs whose body trickles in
  bombs              permessage-deflate messages that inflate far past maxMessageSize
  slow-readers       clients that send but never read: echo, and Socket.IO broadcasts
  fd-exhaustion      the server under `ulimit -n 64`: accept errors logged, recovery after

    bench/soak/faults.py                 every scenario
    bench/soak/faults.py bombs fd-exhaustion
"""
import argparse
import json
import socket
import sys
import threading
import time

from soaklib import (EchoProbe, Server, connect, frame, percentile, raise_fd_limit, raw_deflate, read_frames,
                     read_head, summary_ms, upgrade_request)

HEAD_TIMEOUT = 3  # seconds: --request-head-timeout for the slowloris runs


class Slowloris:
    """`count` connections that send `prefix`, then one byte of `trickle` every `gap` s.
    Records when the server closed each one."""

    def __init__(self, port, count, prefix, trickle, gap=1.0):
        self.closed_after = []
        self.open = 0
        self.threads = []
        self.stop = False
        self.lock = threading.Lock()
        for _ in range(count):
            thread = threading.Thread(target=self.run, args=(port, prefix, trickle, gap), daemon=True)
            thread.start()
            self.threads.append(thread)

    def run(self, port, prefix, trickle, gap):
        try:
            sock = connect(port)
        except OSError:
            return
        start = time.time()
        with self.lock:
            self.open += 1
        try:
            sock.sendall(prefix)
            index = 0
            while not self.stop:
                sock.settimeout(gap)
                try:
                    if sock.recv(65536) == b"":
                        break
                except socket.timeout:
                    pass
                sock.sendall(trickle[index % len(trickle):index % len(trickle) + 1])
                index += 1
        except OSError:
            pass
        with self.lock:
            self.closed_after.append(time.time() - start)
        sock.close()

    def finish(self, wait):
        deadline = time.time() + wait
        for thread in self.threads:
            thread.join(max(0, deadline - time.time()))
        self.stop = True
        return self.closed_after


def http_get(port, path="/"):
    start = time.perf_counter()
    sock = connect(port)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    while sock.recv(65536):
        pass
    sock.close()
    return time.perf_counter() - start


def report(name, ok, lines):
    print(f"\n== {name}: {'ok' if ok else 'FAILED'}")
    for line in lines:
        print("   " + line)
    return ok


def slowloris_scenario(name, server_args, prefix, probe, count=300):
    server = Server(*server_args, "--request-head-timeout", str(HEAD_TIMEOUT), log_name=name)
    try:
        baseline = probe(server.port, 3)
        attack = Slowloris(server.port, count, prefix, b"X-Slow: 1\r\n", gap=0.5)
        time.sleep(0.5)
        during = probe(server.port, HEAD_TIMEOUT + 2)
        closed = attack.finish(HEAD_TIMEOUT + 10)
        rss = server.rss_kb()
        cut = len(closed)
        ok = (cut >= attack.open and max(closed, default=0) <= HEAD_TIMEOUT + 2
              and percentile(during, 99) < 1.0 and server.alive())
        return report(name, ok, [
            f"{attack.open} slow connections (a header byte every 0.5 s), head timeout {HEAD_TIMEOUT} s",
            f"cut by the server: {cut}, after {min(closed, default=0):.1f}-{max(closed, default=0):.1f} s",
            f"probe before: {summary_ms(baseline)}",
            f"probe during: {summary_ms(during)}",
            f"server RSS after: {rss} kB",
        ])
    finally:
        server.stop()


def http_probe(port, seconds):
    samples, end = [], time.time() + seconds
    while time.time() < end:
        samples.append(http_get(port, "/"))
    return samples


def echo_probe(path):
    def measure(port, seconds):
        probe = EchoProbe(port, path)
        try:
            return probe.measure(seconds)
        finally:
            probe.close()
    return measure


def scenario_slowloris_http():
    return slowloris_scenario("slowloris-http", [], b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", http_probe)


def scenario_slowloris_upgrade():
    prefix = upgrade_request("/echo")[:-2]  # everything but the blank line that ends the head
    a = slowloris_scenario("slowloris-upgrade (WebSocketServer)", ["--echo-only"], prefix, echo_probe("/"))
    b = slowloris_scenario("slowloris-upgrade (HTTPServer)", [], prefix, echo_probe("/echo"))
    return a and b


def engine_handshake(port):
    sock = connect(port)
    sock.sendall(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head, rest = read_head(sock)
    length = int([l for l in head.split("\r\n") if l.lower().startswith("content-length")][0].split(":")[1])
    while len(rest) < length:
        rest += sock.recv(65536)
    sock.close()
    return json.loads(rest[1:length].decode())["sid"]


def scenario_slowloris_polling():
    name = "slowloris-polling"
    server = Server("--request-head-timeout", str(HEAD_TIMEOUT), log_name=name)
    try:
        sids = [engine_handshake(server.port) for _ in range(50)]
        baseline = http_probe(server.port, 2)
        attack = []
        for sid in sids:
            prefix = (f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: text/plain\r\nContent-Length: 100000\r\n\r\n4").encode()
            attack.append(Slowloris(server.port, 1, prefix, b"a", gap=1.0))
        during = http_probe(server.port, HEAD_TIMEOUT + 2)
        # requestBodyTimeout (60 s by default) bounds a body that never pauses for long.
        closed = [t for a in attack for t in a.finish(75)]
        ok = len(closed) == len(sids) and max(closed, default=99) <= 65 and percentile(during, 99) < 1.0
        return report(name, ok, [
            f"{len(sids)} POSTs announcing 100,000 bytes, sending one byte a second",
            f"cut by the server within 75 s: {len(closed)}"
            + (f", after {min(closed):.1f}-{max(closed):.1f} s" if closed else ""),
            f"probe before: {summary_ms(baseline)}",
            f"probe during: {summary_ms(during)}",
        ])
    finally:
        server.stop()


def scenario_bombs():
    name = "bombs"
    server = Server("--echo-only", "--compression", "balanced", log_name=name)
    try:
        rss_before = server.rss_kb()
        probe = EchoProbe(server.port)
        baseline = probe.measure(2)
        bomb = raw_deflate(bytes(256 << 20))  # 256 MiB of zeros in ~260 KB
        timings, codes = [], []
        results = []

        def attack():
            for _ in range(20):
                sock = connect(server.port)
                sock.sendall(upgrade_request("/", ["Sec-WebSocket-Extensions: permessage-deflate"]))
                head, rest = read_head(sock)
                if "permessage-deflate" not in head:
                    results.append("not negotiated")
                    return
                start = time.perf_counter()
                sock.sendall(frame(0x2, bomb, rsv1=True))
                try:
                    frames, _ = read_frames(sock, rest, 1, timeout=10)
                    codes.append(int.from_bytes(frames[0][1][:2], "big") if frames[0][0] == 8 else None)
                except (ConnectionError, TimeoutError, OSError):
                    codes.append("dropped")
                timings.append(time.perf_counter() - start)
                sock.close()

        thread = threading.Thread(target=attack)
        thread.start()
        during = []
        while thread.is_alive():
            during.append(probe.round_trip())
        thread.join()
        probe.close()
        rss_after = server.rss_kb()
        ok = codes and all(code == 1009 for code in codes) and not results and server.alive()
        return report(name, ok, [
            f"{len(codes)} messages of {len(bomb)} compressed bytes inflating to 256 MiB (limit 1 MiB)",
            f"close codes: {sorted(set(map(str, codes)))}; time to 1009: {summary_ms(timings)}",
            f"server RSS before {rss_before} kB, after {rss_after} kB",
            f"probe before: {summary_ms(baseline)}",
            f"probe during: {summary_ms(during)}",
        ])
    finally:
        server.stop()


def scenario_slow_readers():
    ok = True
    # Echo: each client sends 64 KiB messages as fast as the server takes them, never reading.
    name = "slow-readers (echo)"
    server = Server("--echo-only", log_name="slow-readers-echo")
    try:
        probe = EchoProbe(server.port)
        baseline = probe.measure(2, size=1024)
        stalled = []

        def flood():
            sock = connect(server.port)
            sock.sendall(upgrade_request("/"))
            read_head(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            message = frame(0x2, b"x" * 65536)
            sent = 0
            sock.settimeout(3)
            try:
                while sent < 1 << 30:
                    sock.sendall(message)
                    sent += len(message)
            except (socket.timeout, OSError):
                pass
            stalled.append(sent)
            time.sleep(5)
            sock.close()

        threads = [threading.Thread(target=flood, daemon=True) for _ in range(50)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        during = probe.measure(5, size=1024)
        rss_during = server.rss_kb()
        for thread in threads:
            thread.join(30)
        probe.close()
        good = len(stalled) == 50 and max(stalled) < 64 << 20 and percentile(during, 99) < 0.5
        ok &= report(name, good, [
            "50 clients sending 64 KiB messages without reading the echoes",
            f"bytes each could send before the server stopped reading: max {max(stalled, default=0) >> 10} KiB",
            f"server RSS while they wait: {rss_during} kB",
            f"probe (1 KiB echo) before: {summary_ms(baseline)}",
            f"probe during: {summary_ms(during)}",
        ])
    finally:
        server.stop()

    # Broadcast: Socket.IO clients that join and never read while another one broadcasts.
    name = "slow-readers (broadcast)"
    server = Server(log_name="slow-readers-broadcast")
    try:
        def sio_client(read=True):
            sock = connect(server.port)
            sock.sendall(upgrade_request("/socket.io/?EIO=4&transport=websocket"))
            head, buffer = read_head(sock)
            frames, buffer = read_frames(sock, buffer, 1)  # the Engine.IO open packet
            sock.sendall(frame(0x1, b"40"))
            frames, buffer = read_frames(sock, buffer, 1)  # CONNECT answered
            if not read:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            return sock, buffer

        readers = [sio_client(read=False) for _ in range(20)]
        sender, buffer = sio_client()
        rss_before = server.rss_kb()
        payload = json.dumps(["chat", "y" * 8000]).encode()
        start, received, end = time.time(), 0, time.time() + 15
        while time.time() < end:
            sender.sendall(frame(0x1, b"42" + payload))
            frames, buffer = read_frames(sender, buffer, 1, timeout=5)
            if frames[0][1].startswith(b"42"):
                received += 1
            elif frames[0][1] == b"2":
                sender.sendall(frame(0x1, b"3"))
        rate = received / (time.time() - start)
        rss_after = server.rss_kb()
        dropped = 0
        for sock, _ in readers:
            sock.setblocking(False)
            try:
                while True:
                    chunk = sock.recv(1 << 20)
                    if chunk == b"":
                        dropped += 1
                        break
            except BlockingIOError:
                pass
            except OSError:
                dropped += 1
            sock.close()
        good = server.alive() and rate > 100
        ok &= report(name, good, [
            "20 Socket.IO clients that never read, one sender broadcasting 8 KB chat messages for 15 s",
            f"broadcasts the sender got back: {received} ({rate:.0f}/s)",
            f"non-readers dropped by the server by then: {dropped} of 20",
            f"server RSS before {rss_before} kB, after {rss_after} kB",
        ])
        sender.close()
    finally:
        server.stop()
    return ok


def scenario_fd_exhaustion():
    name = "fd-exhaustion"
    server = Server("--echo-only", nofile=64, log_name=name)
    try:
        hogs = []
        for _ in range(120):
            try:
                sock = connect(server.port, timeout=2)
                sock.sendall(upgrade_request("/"))
                hogs.append(sock)
            except OSError:
                break
        time.sleep(3)
        upgraded = 0
        for sock in hogs:
            sock.settimeout(0.2)
            try:
                if b" 101 " in sock.recv(4096):
                    upgraded += 1
            except OSError:
                pass
        log = open(server.log_path).read()
        accept_errors = sum(1 for line in log.splitlines() if "accept" in line.lower())
        for sock in hogs:
            sock.close()
        start = time.time()
        recovered = None
        while time.time() - start < 15:
            try:
                probe = EchoProbe(server.port)
                probe.round_trip()
                probe.close()
                recovered = time.time() - start
                break
            except (OSError, RuntimeError, TimeoutError, ConnectionError):
                time.sleep(0.2)
        ok = accept_errors > 0 and recovered is not None and server.alive()
        return report(name, ok, [
            f"server with 64 descriptors; {len(hogs)} connections attempted, {upgraded} upgraded",
            f"accept errors in the server's log: {accept_errors} lines",
            f"after they closed, a new client was served after {recovered if recovered is None else round(recovered, 2)} s",
        ])
    finally:
        server.stop()


SCENARIOS = {
    "slowloris-http": scenario_slowloris_http,
    "slowloris-upgrade": scenario_slowloris_upgrade,
    "slowloris-polling": scenario_slowloris_polling,
    "bombs": scenario_bombs,
    "slow-readers": scenario_slow_readers,
    "fd-exhaustion": scenario_fd_exhaustion,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=", ".join(SCENARIOS))
    args = parser.parse_args()
    for name in args.scenarios:
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name}; choose from {', '.join(SCENARIOS)}")
    raise_fd_limit()
    results = {name: SCENARIOS[name]() for name in (args.scenarios or SCENARIOS)}
    print("\nRESULT " + " ".join(f"{name}={'ok' if ok else 'FAILED'}" for name, ok in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
