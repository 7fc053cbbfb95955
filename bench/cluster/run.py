#!/usr/bin/env python3
"""Fan-out through a Socket.IO cluster: three Canal servers on one Redis, beside one Canal
server alone and three python-socketio servers on the same Redis, in the same run.

    bench/cluster/run.py                         # the three setups, rising tick rates
    bench/cluster/run.py --rounds 3              # medians of three rounds
    bench/cluster/run.py --clients 20 --rates 5,10 --seconds 2     # a smoke test

1,000 clients (wsload's `sio-broadcast`, WebSocket transport) are spread round-robin over the
servers, connecting to each directly, as a round-robin load balancer would place them. The
last group's first client asks its server for `start-broadcast`: that server emits `tick`
to everybody `rate` times a second, and the cluster's adapter carries each tick through
Redis to the other servers. For each setup the tick rates rise until one loses an event or
the servers fall behind; the figure is the highest delivery rate (events/s over all
clients) kept with p99 one-way latency under 50 ms and nothing lost, as bench/socketio
measures one server. For the clusters it also reads redis-server's CPU time
(/proc/PID/stat) before and after each broadcast: Redis CPU per delivered event.

Reuses bench/socketio/run.py (wsload, the one-server ramp, the servers' processes) and its
python server (bench/cluster/python_cluster_server.py adds python-socketio's
`AsyncRedisManager`). Needs `.build/release/canal`, gcc, redis-server.
"""
import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "bench", "out", "cluster")

_spec = importlib.util.spec_from_file_location("socketio_bench", os.path.join(REPO, "bench", "socketio", "run.py"))
sio_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sio_bench)
log = sio_bench.log

SETUPS = ("canal3", "canal1", "python3")
SERVERS_PER_CLUSTER = 3
TICK_BYTES = 64


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--setups", default=",".join(SETUPS))
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--rates", default="5,10,20,40,80,160,320",
                   help="tick rates tried, ascending (ticks/s to every client)")
    p.add_argument("--seconds", type=float, default=5, help="length of each broadcast")
    p.add_argument("--port", type=int, default=28600, help="Redis on it, the servers on the next ones")
    p.add_argument("--rounds", type=int, default=1, help="rounds, the setups in turn (medians reported)")
    return p.parse_args()


def cpu_seconds(pid):
    """CPU time of a process so far: (from /proc/PID/stat, utime + stime, in clock ticks of
    10 ms; from /proc/PID/task/*/schedstat, the time its threads ran, in ns). A broadcast
    costs Redis tens of ms, so the figures use the second; the first checks it."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    ran = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                ran += int(f.read().split()[0])
        except OSError:  # a thread that just ended
            pass
    return ticks, ran / 1e9


def established(port):
    """TCP connections established to 127.0.0.1:port (the clients' side of each)."""
    out = subprocess.run(["ss", "-Htn", "state", "established", f"( dport = :{port} )"],
                         capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if line.strip())


def shares(clients, servers):
    """Client i goes to server i mod n: what a round-robin balancer does."""
    return [clients // servers + (1 if i < clients % servers else 0) for i in range(servers)]


class Cluster:
    """redis-server and `count` servers of one kind on it, fresh for each rate."""

    def __init__(self, kind, count, port, prefix, python):
        self.redis = None
        if count > 1:
            exe = shutil.which("redis-server") or sys.exit("redis-server is missing (apt-get install redis-server)")
            self.redis = sio_bench.Server(
                "redis", [exe, "--port", "{PORT}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--protected-mode", "no"], port, prefix + ".redis.log")
        self.redis_port = port
        url = f"redis://127.0.0.1:{port}"
        canal = os.path.join(REPO, ".build", "release", "canal")
        commands = {
            "canal": [canal, "serve", "--bench", "--host", "127.0.0.1", "--port", "{PORT}", "--threads", "1"]
                     + (["--redis", url] if self.redis else []),
            "python": [python, os.path.join(HERE, "python_cluster_server.py"), "--port", "{PORT}", "--redis", url],
        }
        self.ports = [port + 1 + i for i in range(count)]
        self.servers = []
        try:
            for i, p in enumerate(self.ports):
                self.servers.append(sio_bench.Server(f"{kind}{i}", commands[kind], p, f"{prefix}.s{i}.log"))
            time.sleep(1.5 if self.redis else 0.2)  # the cluster members see each other
        except BaseException:
            self.stop()
            raise

    def cpu(self):
        """(servers' CPU seconds together, Redis's), each as cpu_seconds gives them."""
        servers = [cpu_seconds(s.pid) for s in self.servers]
        together = (sum(t for t, _ in servers), sum(r for _, r in servers))
        return together, cpu_seconds(self.redis.pid) if self.redis else (0.0, 0.0)

    def stop(self):
        for s in self.servers:
            s.stop()
        if self.redis:
            self.redis.stop()


def fanout_once(cluster, clients, rate, seconds, prefix):
    """One broadcast at `rate` to `clients` spread over the cluster's servers. Returns
    (lossless, passed, figures)."""
    counts = shares(clients, len(cluster.ports))
    receivers = []
    # The groups of all servers but the last connect first and wait; the last group's
    # first client starts the broadcast once its own group is connected.
    for i, (port, count) in enumerate(zip(cluster.ports[:-1], counts[:-1])):
        path = f"{prefix}.g{i}.txt"
        argv = [sio_bench.WSLOAD, "-p", str(port), "--server-pid", str(cluster.servers[i].pid), "--interval", "0",
                "-m", "sio-broadcast", "-c", str(count), "-w", "0", "-D", str(seconds + 6), "--tail", "30"]
        receivers.append((path, subprocess.Popen(argv, stdout=open(path, "w"), stderr=subprocess.STDOUT)))
    deadline = time.monotonic() + 30
    while any(established(p) < c for p, c in zip(cluster.ports[:-1], counts[:-1])) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # the Socket.IO CONNECT of the last ones
    # What Redis spends doing nothing (its timers; the cluster's heartbeats and blocked reads).
    _, idle_before = cluster.cpu()
    time.sleep(1)
    servers_before, redis_before = cluster.cpu()
    idle_ms_per_s = (redis_before[1] - idle_before[1]) * 1e3
    last = len(cluster.ports) - 1
    results = [sio_bench.wsload(cluster.ports[last], cluster.servers[last].pid,
                                ["-m", "sio-broadcast", "-c", str(counts[last]),
                                 "--trigger", f"{rate},{TICK_BYTES},{seconds}", "--tail", "30"],
                                f"{prefix}.g{last}.txt", seconds + 120)]
    for path, proc in receivers:
        try:
            rc = proc.wait(seconds + 120)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = -1
        results.insert(-1, dict(parse_result(path), rc=rc))
    servers_after, redis_after = cluster.cpu()
    if cluster.redis:  # what the servers asked of Redis, for the curious
        with open(prefix + ".redis-commands.txt", "w") as out:
            subprocess.run(["redis-cli", "-p", str(cluster.redis_port), "INFO", "commandstats"], stdout=out,
                           stderr=subprocess.STDOUT, timeout=10)
    trigger = results[-1]
    sent = float(trigger.get("bcast_sent", 0) or 0)
    elapsed = float(trigger.get("bcast_elapsed_ms", 0) or 0) / 1000
    events = sum(float(r.get("events", 0) or 0) for r in results)
    lossless = (all(r["rc"] == 0 and r.get("errors") == "0" and r.get("lost") == "0" for r in results)
                and sum(int(r.get("open", 0) or 0) for r in results) == clients
                and elapsed > 0 and sent / elapsed >= 0.9 * rate)
    # Each process has its own p99; the p99 of all the clients is at most the largest.
    p99 = max(float(r.get("p99_us", 1e12) or 1e12) for r in results)
    redis_s = redis_after[1] - redis_before[1]
    figures = {
        "delivered_per_s": sum(float(r.get("delivered_per_s", 0) or 0) for r in results),
        "p99_us": p99,
        "lost": sum(int(r["lost"]) for r in results if r.get("lost", "na").isdigit()),
        "sent": sent, "elapsed_s": elapsed, "events": events,
        "server_cpu_us_per_event": (servers_after[1] - servers_before[1]) * 1e6 / events if events else 0.0,
        "redis_cpu_us_per_event": redis_s * 1e6 / events if events else 0.0,
        "redis_cpu_us_per_tick": redis_s * 1e6 / sent if sent else 0.0,
        "redis_cpu_ms": (redis_s * 1e3, (redis_after[0] - redis_before[0]) * 1e3),
        "redis_idle_ms_per_s": idle_ms_per_s,
    }
    return lossless, lossless and p99 < sio_bench.P99_LIMIT_US, figures


def parse_result(path):
    with open(path) as f:
        for line in f:
            if line.startswith("RESULT "):
                return dict(kv.split("=", 1) for kv in line.split()[1:])
    return {}


def run_setup(name, args, rates, python, round_):
    kind, count = name[:-1], int(name[-1])
    best = {"rate": 0, "delivered_per_s": 0.0, "p99_us": 0.0, "lossless_rate": 0, "lossless_delivered_per_s": 0.0,
            "lossless_p99_us": 0.0, "redis_cpu_us_per_event": 0.0, "redis_cpu_us_per_tick": 0.0,
            "server_cpu_us_per_event": 0.0, "redis_idle_ms_per_s": 0.0, "lossless_at": {}}
    for rate in rates:
        prefix = os.path.join(OUT, "logs", f"{name}.{round_}.r{rate}")
        cluster = Cluster(kind, count, args.port, prefix, python)
        try:
            lossless, passed, f = fanout_once(cluster, args.clients, rate, args.seconds, prefix)
        finally:
            cluster.stop()
        log(f"  {name} rate {rate}/s x {args.clients}: delivered {f['delivered_per_s']:.0f}/s p99 {f['p99_us']:.0f} us "
            f"lost {f['lost']} ticks {f['sent']:.0f} in {f['elapsed_s']:.2f} s; CPU us per event: servers "
            f"{f['server_cpu_us_per_event']:.2f}, redis {f['redis_cpu_us_per_event']:.3f} "
            f"(Redis ran {f['redis_cpu_ms'][0]:.1f} ms, /proc/PID/stat says {f['redis_cpu_ms'][1]:.0f}; "
            f"idle {f['redis_idle_ms_per_s']:.1f} ms/s) -> "
            f"{'pass' if passed else 'lossless, p99 over 50 ms' if lossless else 'FAIL'}")
        if not lossless:
            break
        best["lossless_at"][rate] = f
        best.update(lossless_rate=rate, lossless_delivered_per_s=f["delivered_per_s"], lossless_p99_us=f["p99_us"],
                    redis_cpu_us_per_event=f["redis_cpu_us_per_event"], redis_cpu_us_per_tick=f["redis_cpu_us_per_tick"],
                    server_cpu_us_per_event=f["server_cpu_us_per_event"], redis_idle_ms_per_s=f["redis_idle_ms_per_s"])
        if passed:
            best.update(rate=rate, delivered_per_s=f["delivered_per_s"], p99_us=f["p99_us"])
        time.sleep(1)
    return best


ROWS = [("rate", "ticks/s kept, p99 < 50 ms"), ("delivered_per_s", "deliveries/s, p99 < 50 ms"),
        ("p99_us", "its p99 (us)"), ("lossless_rate", "highest lossless ticks/s"),
        ("lossless_delivered_per_s", "its deliveries/s"), ("lossless_p99_us", "its p99 (us)"),
        ("server_cpu_us_per_event", "servers' CPU us / delivery"),
        ("redis_cpu_us_per_event", "Redis CPU us / delivery"), ("redis_cpu_us_per_tick", "Redis CPU us / tick"),
        ("redis_idle_ms_per_s", "Redis idle CPU ms/s")]


def report(setups, rounds, args, load_before):
    """Medians over the rounds of each setup's figures, and the ratios between setups."""
    results = {s: {key: statistics.median(r[key] for r in rounds[s]) for key, _ in ROWS} for s in setups}
    fmt = lambda v: "-" if v is None else f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"
    ratio = lambda a, b: f"{a / b:.2f}" if a and b else "n/a"
    lines = [f"{args.clients} clients, round-robin over each setup's servers (direct connections), "
             f"{args.seconds:g} s broadcasts of {TICK_BYTES} B ticks; rates {args.rates}; every server one "
             f"event-loop thread; {args.rounds} round(s), medians; load before {' '.join(load_before)}, after "
             f"{' '.join(open('/proc/loadavg').read().split()[:3])}", "",
             f"{'':30}" + "".join(f"{s:>12}" for s in setups) + f"{'canal3/canal1':>15}{'canal3/python3':>16}"]
    for key, label in ROWS:
        values = [results[s].get(key) for s in setups]
        c3, c1, p3 = (results.get(s, {}).get(key) for s in ("canal3", "canal1", "python3"))
        lines.append(f"{label:30}" + "".join(f"{fmt(v):>12}" for v in values) + f"{ratio(c3, c1):>15}{ratio(c3, p3):>16}")
    # Redis's cost compared at one rate: the highest that every cluster setup kept lossless in
    # every round (Redis's idle share shrinks as the rate grows).
    clustered = [s for s in setups if s != "canal1"]
    common = [r for r in map(int, args.rates.split(","))
              if clustered and all(r in run["lossless_at"] for s in clustered for run in rounds[s])]
    if common:
        rate = common[-1]
        at = {s: statistics.median(run["lossless_at"][rate]["redis_cpu_us_per_event"] for run in rounds[s])
              for s in clustered}
        lines.append(f"{f'Redis CPU us / delivery @{rate}/s':30}" + "".join(
            f"{fmt(at[s]) if s in at else '-':>12}" for s in setups)
            + f"{'n/a':>15}{ratio(at.get('canal3'), at.get('python3')):>16}")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(OUT, "results.txt"), "w") as f:
        f.write(text + "\n")


def main():
    args = parse_args()
    os.chdir(REPO)
    setups = [s for s in args.setups.split(",") if s]
    unknown = sorted(set(setups) - set(SETUPS))
    if unknown:
        sys.exit(f"unknown setups {', '.join(unknown)}; known: {', '.join(SETUPS)}")
    if not os.path.exists(os.path.join(REPO, ".build", "release", "canal")):
        sys.exit(".build/release/canal is missing: swift build -c release --product canal")
    rates = [int(r) for r in args.rates.split(",")]
    sio_bench.build_wsload()
    sio_bench.raise_fd_limit()
    python = sys.executable
    if "python3" in setups:
        python = sio_bench.python_env()
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
                        os.path.join(HERE, "requirements.txt")], check=True)
    os.makedirs(os.path.join(OUT, "logs"), exist_ok=True)
    load_before = open("/proc/loadavg").read().split()[:3]
    rounds = {name: [] for name in setups}
    for round_ in range(1, args.rounds + 1):
        for name in setups if round_ % 2 else list(reversed(setups)):
            log(f"== round {round_}/{args.rounds} {name}")
            rounds[name].append(run_setup(name, args, rates, python, round_))
    report(setups, rounds, args, load_before)
    return 0 if all(r["lossless_rate"] for runs in rounds.values() for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
