#!/usr/bin/env python3
"""Connection churn soak: rounds of N WebSocket connections opened, pinged, held and
closed, against `canal serve --echo-only`, for a chosen time. Reports the server's RSS
after the first minute and after the run (the run fails if the latter is more than 5 %
above the former) and its open descriptors before and after (the run fails if any is
left behind).

    bench/soak/churn.py --minutes 10 --conns 10000
"""
import argparse
import sys
import time

from soaklib import Server, raise_fd_limit, wsload


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--conns", type=int, default=10_000, help="connections per round")
    parser.add_argument("--hold", type=int, default=3, help="seconds each round holds its connections")
    parser.add_argument("--rate", type=int, default=5000, help="new connections per second")
    parser.add_argument("--threads", type=int, default=1, help="server event loops")
    args = parser.parse_args()

    raise_fd_limit()
    server = Server("--echo-only", "--threads", str(args.threads), log_name="churn-server")
    try:
        time.sleep(1)
        fds_before, rss_start = server.fds(), server.rss_kb()
        print(f"server pid {server.pid} on port {server.port}: {fds_before} descriptors, RSS {rss_start} kB")
        start = time.time()
        deadline = start + args.minutes * 60
        rss_after_first_minute = None
        rounds = opened = errors = drops = failures = 0
        samples = []
        while time.time() < deadline:
            result, status = wsload(
                "-m", "idle", "-p", server.port, "-c", args.conns, "-r", args.rate, "-D", args.hold,
                "-i", 1, "--max-pending", 512, "--src-ips", 8, "--interval", 0, "-q",
                timeout=args.hold + args.conns / args.rate + 120,
            )
            rounds += 1
            opened += int(result.get("held", 0))
            errors += int(result.get("errors", 0))
            drops += int(result.get("drops", 0))
            failures += int(result.get("connect_failures", 0))
            if status != 0 or not server.alive():
                print(f"round {rounds}: wsload status {status}, result {result}, server alive {server.alive()}")
            time.sleep(1)  # the last closes reach the server
            elapsed = time.time() - start
            rss = server.rss_kb()
            samples.append((elapsed, rss, server.fds()))
            if rss_after_first_minute is None and elapsed >= 60:
                rss_after_first_minute = rss
            print(f"[{elapsed:6.0f} s] round {rounds}: {result.get('held', '?')}/{args.conns} held, "
                  f"RSS {rss} kB, {samples[-1][2]} fds", flush=True)
        # Connections whose close handshake is still running let go within the close
        # timeout (10 s): wait for the descriptors to settle, at most 30 s.
        settle_start = time.time()
        while server.fds() > fds_before and time.time() - settle_start < 30:
            time.sleep(0.5)
        settled_after = time.time() - settle_start
        time.sleep(1)
        rss_end, fds_after = server.rss_kb(), server.fds()
        if rss_after_first_minute is None:
            rss_after_first_minute = samples[0][1] if samples else rss_start
        growth = (rss_end - rss_after_first_minute) / rss_after_first_minute * 100
        peak = max(rss for _, rss, _ in samples) if samples else rss_end
        print()
        print(f"rounds {rounds}, connections opened and closed {opened}, in {time.time() - start:.0f} s "
              f"({opened / (time.time() - start):.0f}/s)")
        print(f"errors {errors}, drops {drops}, connect failures {failures}")
        print(f"RSS: start {rss_start} kB, after the first minute {rss_after_first_minute} kB, "
              f"peak {peak} kB, after the run {rss_end} kB ({growth:+.1f} % over the first minute)")
        print(f"descriptors: before {fds_before}, after {fds_after} (settled {settled_after:.1f} s after the last round)")
        ok = growth <= 5 and fds_after <= fds_before and server.alive() and errors == 0
        print("RESULT churn " + ("ok" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
