"""nginx in front of Canal servers, plain round-robin: the balancer of the no-sticky-sessions tests."""
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


NGINX_CONF = """
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    log_format relay '$arg_sid $request_method $upstream_addr $status';
    access_log {dir}/access.log relay;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    # Plain round-robin: no ip_hash, no sticky cookie.
    upstream canal {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://canal;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


class Nginx:
    """nginx from Debian with its own config in a temp dir, on a free loopback port, in
    front of `upstreams` in plain round-robin. Never the system service."""

    def __init__(self, directory, upstreams):
        self.dir = str(directory)
        self.port = free_port()
        self.upstreams = upstreams
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if exe is None:
            pytest.fail("nginx missing (Debian package nginx, scripts/debian-packages.txt)")
        os.chmod(self.dir, 0o755)
        servers = "\n".join(f"        server 127.0.0.1:{p};" for p in self.upstreams)
        user = "user root;" if os.geteuid() == 0 else ""
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(user=user, dir=self.dir, servers=servers, port=self.port))
        self.proc = subprocess.Popen([exe, "-p", self.dir, "-c", conf, "-e", os.path.join(self.dir, "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("nginx exited: " + open(os.path.join(self.dir, "error.log")).read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("nginx did not start")

    def log(self):
        """(sid, method, upstream, status) of every request so far."""
        with open(os.path.join(self.dir, "access.log")) as f:
            return [tuple(line.split()[:4]) for line in f if len(line.split()) >= 4]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


PING_INTERVAL_MS = 400


def start_balanced(redis, tmp_path, forward=True):
    servers = [Server("canal", "--redis", redis.url, "--recovery", "--recovery-duration", "30000",
                      "--name", f"s{i}", "--heartbeat-interval", "500",
                      "--ping-interval", PING_INTERVAL_MS, "--ping-timeout", "2000",
                      *(["--forward"] if forward else [])) for i in range(3)]
    for s in servers:
        s.start()
    nginx = Nginx(tmp_path, [s.port for s in servers]).start()
    time.sleep(1.2)  # a heartbeat round: every server knows the others
    return servers, nginx
