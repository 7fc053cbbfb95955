"""Fixtures: a real redis-server (Debian) and Canal test servers joined through it."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "socketio"))

from sioserver import Server, free_port  # noqa: E402
from nginx_balancer import start_balanced  # noqa: E402


class Redis:
    def __init__(self):
        self.port = free_port()
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server missing (Debian package redis-server, scripts/debian-packages.txt)")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--protected-mode", "no", "--logfile", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(5)
        self.proc = None


@pytest.fixture
def redis():
    r = Redis().start()
    yield r
    r.stop()


@pytest.fixture
def cluster(redis):
    servers = [Server("canal", "--redis", redis.url, "--recovery", "--recovery-duration", "30000",
                      "--name", f"s{i}", "--heartbeat-interval", "500") for i in range(3)]
    for s in servers:
        s.start()
    time.sleep(1.2)  # a heartbeat round: every server knows the others
    yield servers
    for s in servers:
        s.stop()


@pytest.fixture
def balanced(redis, tmp_path):
    """Three Canal servers that relay each other's sessions, behind nginx round-robin."""
    servers, nginx = start_balanced(redis, tmp_path)
    yield servers, nginx
    nginx.stop()
    for s in servers:
        s.stop()
