"""`canal io` on real terminals (tmux): canal's listen mode in one pane, canal connected to
it in another, and python-socketio's client connected to the listen mode too."""
from __future__ import annotations

import time

import socketio

from cli_support import canal_path
from io_support import Server


def test_two_panes_and_a_python_client(tmux):
    tmux.start("server", [canal_path(), "io", "--listen", "0"])
    port = int(tmux.wait_for(
        "server", r"^Listening on port (\d+) \(Socket\.IO at /socket\.io/; press CTRL\+C to quit\)$", 30).group(1))
    tmux.type("server", "anyone?")
    tmux.wait_for("server", r"^error: no client is connected: not sent$")

    tmux.start("client", [canal_path(), "io", f"http://localhost:{port}"])
    # The namespace's answer can arrive before or after the switch to WebSocket.
    tmux.wait_for("client", r"^Connected to / \(id \S+, (polling|websocket); press CTRL\+C to quit\)$", 30)
    tmux.wait_for("client", r"^Upgraded to websocket$")
    tmux.wait_for("server", r"^\[client 1\] Connected \(id \S+, from ")

    tmux.type("client", "Holi")
    tmux.wait_for("client", r"^> Holi$")
    tmux.wait_for("server", r'^\[client 1\] < message "Holi"$')

    tmux.type("server", "hola desde el servidor")
    tmux.wait_for("client", r'^< message "hola desde el servidor"$')

    tmux.type("server", "/binary data hex 0001ff")
    tmux.wait_for("client", r"^< data <binary 3 bytes>$")
    tmux.wait_for("client", r"^  00000000  00 01 ff +\|\.\.\.\|$")

    tmux.type("client", '/emit chat {"text":"hi"} 2')
    tmux.wait_for("server", r'^\[client 1\] < chat \{"text":"hi"\} 2$')

    # The server asks, the person in the client pane answers.
    tmux.type("server", "/call question 1")
    tmux.wait_for("client", r"^< question 1$")
    tmux.wait_for("client", r"^  \(the server asks for an acknowledgement: /ack 1 \[ARG \.\.\.\]\)$")
    tmux.type("client", '/ack 1 "yes"')
    tmux.wait_for("server", r'^\[client 1\] < ack question "yes"$')

    # python-socketio's client joins the listen mode too.
    python = socketio.Client(reconnection=False)
    got = []
    python.on("message", lambda *args: got.append(args))
    python.connect(f"http://127.0.0.1:{port}", wait_timeout=10)
    try:
        tmux.wait_for("server", r"^\[client 2\] Connected \(id ")
        python.emit("chat", "from python")
        tmux.wait_for("server", r'^\[client 2\] < chat "from python"$')
        tmux.type("server", "to everyone")
        tmux.wait_for("client", r'^< message "to everyone"$')
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got == [("to everyone",)]
    finally:
        python.disconnect()
    tmux.wait_for("server", r"^\[client 2\] Disconnected \(")

    tmux.keys("client", "C-c")
    tmux.wait_for("client", r"^Disconnected \(io client disconnect\)$")
    tmux.wait_for("client", r"^EXIT=0$")
    tmux.wait_for("server", r"^\[client 1\] Disconnected \(client namespace disconnect\)$")
    tmux.keys("server", "C-c")
    tmux.wait_for("server", r"^EXIT=0$")
    assert "^[" not in tmux.screen("client")


def test_colours_and_reconnect_on_a_terminal(tmux):
    server = Server("python", "--ping-interval", 1000, "--ping-timeout", 1000).start()
    try:
        tmux.start("client", [canal_path(), "io", server.url, "--reconnect", "--transport", "websocket"])
        tmux.wait_for("client", r"^Connected to / \(id ", 30)
        screen = tmux.screen("client", colors=True)
        assert "\x1b[32m" in screen  # state in green
        tmux.wait_for("client", r'^< welcome \{"id":')
        assert "\x1b[34m" in tmux.screen("client", colors=True)  # what arrives in blue
        server.stop()
        tmux.wait_for("client", r"^Reconnecting in \d\.\d s \(attempt 1\)$")
        tmux.keys("client", "C-c")
        tmux.wait_for("client", r"^EXIT=0$")
    finally:
        server.stop()
