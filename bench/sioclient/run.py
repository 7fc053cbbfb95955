#!/usr/bin/env python3
"""bench/sioclient: CanalSocketIOClient beside python-socketio's client, receiving from our
server (`canal serve --bench`) in the same run. See README.md.

Each client runs as its own process, one at a time, against the same server; the script
takes each process's CPU time (user + system) and peak memory from the kernel (wait4).
"""
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out" / "sioclient"
QUICK = os.environ.get("QUICK") == "1"
ROUNDS = int(os.environ.get("ROUNDS", "1" if QUICK else "3"))
BUILD = os.environ.get("CANAL_BIN_DIR", str(ROOT / ".build" / "release"))
PYTHON = os.environ.get("PYTHON", str(ROOT / ".venv" / "bin" / "python"))

ECHO = {"events": 20000 if QUICK else 100000, "window": 64, "size": 64}
TICKS = {"rate": 2000, "seconds": 2 if QUICK else 5, "size": 64}


def start_server():
    proc = subprocess.Popen([f"{BUILD}/canal", "serve", "--bench", "--host", "127.0.0.1", "--port", "0",
                             "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if match:
            return proc, match.group(1)
        if line == "" and proc.poll() is not None:
            break
    proc.kill()
    sys.exit("the benchmark server did not start (build it: swift build -c release)")


def measure(argv):
    """Runs a client; returns its JSON result with cpu_seconds and max_rss_kib added."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    err = proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv[0]} failed: {err or out}")
    result = json.loads(out.strip().splitlines()[-1])
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    result["max_rss_kib"] = usage.ru_maxrss
    return result


def clients(url, mode, options):
    flags = [item for name, value in options.items() for item in (f"--{name}", str(value))]
    return {
        "canal": [f"{BUILD}/canal-sio-testclient", "bench", mode, url, *flags],
        "python-socketio": [PYTHON, str(ROOT / "bench" / "sioclient" / "python_client.py"), mode, url, *flags],
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    server, url = start_server()
    rows = {}
    try:
        for round_ in range(ROUNDS):
            for mode, options in (("echo", ECHO), ("ticks", TICKS)):
                for name, argv in clients(url, mode, options).items():
                    result = measure(argv)
                    result["cpu_us_per_event"] = result["cpu_seconds"] * 1e6 / max(result["received"], 1)
                    rows.setdefault((mode, name), []).append(result)
                    with open(OUT / "results.raw.jsonl", "a") as raw:
                        raw.write(json.dumps({"round": round_, "client": name, **result}) + "\n")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)

    def median(mode, name, key):
        return statistics.median(r[key] for r in rows[(mode, name)])

    table = [
        ("echo: events/s received", "echo", "events_per_second", "higher"),
        ("echo: CPU µs per event", "echo", "cpu_us_per_event", "lower"),
        ("echo: peak memory KiB", "echo", "max_rss_kib", "lower"),
        (f"ticks {TICKS['rate']}/s: events received", "ticks", "received", "equal"),
        (f"ticks {TICKS['rate']}/s: CPU µs per event", "ticks", "cpu_us_per_event", "lower"),
    ]
    lines = [f"{'metric':38} {'python-socketio':>16} {'canal':>12} {'ratio':>8}  better"]
    for label, mode, key, better in table:
        python = median(mode, "python-socketio", key)
        ours = median(mode, "canal", key)
        ratio = ours / python if python else float("nan")
        lines.append(f"{label:38} {python:16.1f} {ours:12.1f} {ratio:8.2f}  {better}")
    text = "\n".join(lines)
    print(text)
    (OUT / "results.txt").write_text(text + "\n")
    sent = [r["sent"] for r in rows[("ticks", "canal")] + rows[("ticks", "python-socketio")]]
    received = [r["received"] for r in rows[("ticks", "canal")] + rows[("ticks", "python-socketio")]]
    if any(r < s for r, s in zip(received, sent)):
        print("PROBLEM: a client missed ticks", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
