"""Examples/PeriodicSocketIOClient (the tutorial's example 4 over Socket.IO) against
`canal serve`, which echoes `message` events: the first message, then a numbered one every
2 s, each echoed back; a server restart is ridden out."""
import re
import select
import subprocess
import time

from sioclient_support import binary, free_port


def start_serve(port):
    proc = subprocess.Popen([str(binary("canal")), "serve", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready and "listening on" in proc.stdout.readline():
            return proc
    proc.kill()
    raise AssertionError("canal serve did not start")


class Lines:
    def __init__(self, proc):
        self.proc = proc
        self.seen = []

    def expect(self, pattern, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.seen:
                if re.search(pattern, line):
                    self.seen.remove(line)
                    return line
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line == "":
                    break
                self.seen.append(line.rstrip("\n"))
        raise AssertionError(f"no line matching {pattern!r}; seen: {self.seen}")


def test_periodic_client_sends_first_then_numbered_messages_and_survives_a_restart():
    port = free_port()
    server = start_serve(port)
    client = subprocess.Popen([str(binary("periodic-sio-client")), f"http://127.0.0.1:{port}/"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = Lines(client)
    try:
        lines.expect(r"^connected to http://127\.0\.0\.1:\d+/ \(id \S+\)$", timeout=20)
        lines.expect(r"^received message: first message$")
        lines.expect(r"^sent: message 1$", timeout=5)
        lines.expect(r"^received message: message 1$")
        lines.expect(r"^sent: message 2$", timeout=5)
        lines.expect(r"^received message: message 2$")
        server.terminate()
        server.wait(10)
        lines.expect(r"^connection lost \((transport close|transport error|ping timeout)\)$")
        server = start_serve(port)
        lines.expect(r"^connected again \(id \S+\)$", timeout=20)
        lines.expect(r"^received message: message [3-9]$", timeout=10)
    finally:
        client.terminate()
        client.wait(10)
        server.terminate()
        server.wait(10)
