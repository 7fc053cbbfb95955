"""Start a contract server (python reference or Canal) and stop it again."""
import os
import select
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
IMPLEMENTATIONS = ("python", "canal")


def command(impl):
    if impl == "python":
        return [sys.executable, os.path.join(HERE, "reference_server.py")]
    bin_dir = os.environ.get("CANAL_BIN_DIR", os.path.join(REPO, ".build", "debug"))
    return [os.path.join(bin_dir, "canal-sio-testserver")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, impl, *options, port=0, start_timeout=15.0):
        self.impl = impl
        self.options = [str(o) for o in options]
        self.port = port
        self.start_timeout = start_timeout
        self.proc = None
        self.url = None

    def start(self):
        cmd = command(self.impl)
        if not os.path.exists(cmd[0]):
            raise AssertionError(f"{self.impl} server binary missing: {cmd[0]} (build it first)")
        self.proc = subprocess.Popen(cmd + ["--port", str(self.port)] + self.options,
                                     stdout=subprocess.PIPE, stderr=None, text=True, bufsize=1)
        deadline = time.monotonic() + self.start_timeout
        line = ""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if r:
                line = self.proc.stdout.readline()
                if line.startswith("listening on "):
                    break
                if line == "":
                    break
            if self.proc.poll() is not None:
                break
        if not line.startswith("listening on http://127.0.0.1:"):
            self.stop()
            raise AssertionError(f"{self.impl} server did not report listening: {line!r}")
        self.url = line.split()[-1].rstrip("/")
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
