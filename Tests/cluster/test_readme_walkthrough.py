"""The README's walk-through, as written: three `canal serve --redis URL` behind nginx
plain round-robin, clients on the mini-chat (`/chat`) in every transport mode."""
import os
import re
import select
import signal
import subprocess
import time

import pytest
import socketio

from clienthelp import Recorder
from nginx_balancer import Nginx

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SERVE_RE = re.compile(r"Canal demo server listening on http://127\.0\.0\.1:(\d+)/")


class CanalServe:
    def __init__(self, redis_url):
        exe = os.path.join(os.environ.get("CANAL_BIN_DIR", os.path.join(REPO, ".build", "debug")), "canal")
        if not os.path.exists(exe):
            pytest.fail(f"canal binary missing: {exe} (swift build --product canal)")
        env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
        self.proc = subprocess.Popen([exe, "serve", "-p", "0", "--redis", redis_url, "--no-access-log"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                match = SERVE_RE.search(self.proc.stdout.readline())
                if match:
                    self.port = int(match.group(1))
                    return
            if self.proc.poll() is not None:
                break
        self.stop()
        raise AssertionError("canal serve did not report listening")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()


def test_three_canal_serve_behind_round_robin_nginx_share_the_chat_in_every_mode(redis, tmp_path):
    servers = [CanalServe(redis.url) for _ in range(3)]
    nginx = Nginx(tmp_path, [s.port for s in servers]).start()
    clients = []
    try:
        for transports in (["polling"], ["websocket"], ["polling", "websocket"]):
            for _ in range(2):
                c = socketio.Client(reconnection=False)
                rec = Recorder(c, ["/chat"])
                c.connect(nginx.url, namespaces=["/chat"], transports=transports, wait_timeout=10)
                clients.append((c, rec))
        clients[0][0].emit("message", "hello from polling", namespace="/chat")
        clients[2][0].emit("message", "hello from websocket", namespace="/chat")
        for c, rec in clients:
            rec.wait("message", count=2, timeout=10, ns="/chat")
        time.sleep(0.5)
        for c, rec in clients:
            assert sorted(a[0] for a in rec.of("message", ns="/chat")) == ["hello from polling", "hello from websocket"]
            assert c.connected
        assert all(status != "400" for _, _, _, status in nginx.log())
        assert len({upstream for _, _, upstream, _ in nginx.log()}) == 3
    finally:
        for c, _ in clients:
            if c.connected:
                c.disconnect()
        nginx.stop()
        for s in servers:
            s.stop()
