"""canal as a person uses it: on real terminals (tmux), typing with send-keys,
reading the screen with capture-pane. These are the tutorial's wscat sessions."""

from __future__ import annotations

import re

from cli_support import canal_path


def start_listener(tmux, *args: str) -> int:
    tmux.start("server", [canal_path(), *args, "-l", "0"])
    return int(tmux.wait_for("server", r"^Listening on port (\d+) \(press CTRL\+C to quit\)$", 30).group(1))


def test_two_terminals_talk_ping_and_close(tmux):
    """Tutorial example 2: `wscat -l 8000` and `wscat --slash -P -c localhost:8000`."""
    port = start_listener(tmux)
    # The prompt is there before anyone connects; what is typed then goes nowhere, and says so.
    tmux.type("server", "anyone?")
    tmux.wait_for("server", r"^error: no client is connected: not sent$")
    tmux.start("client", [canal_path(), "--slash", "-P", "-c", f"localhost:{port}"])
    tmux.wait_for("client", r"^Connected \(press CTRL\+C to quit\)$", 30)
    tmux.wait_for("server", r"^\[client 1\] Connected \(from ")

    tmux.type("client", "Holi")
    tmux.wait_for("server", r"^\[client 1\] < Holi$")
    tmux.wait_for("client", r"^> Holi$")

    tmux.type("server", "hola desde el servidor")
    tmux.wait_for("client", r"^< hola desde el servidor$")
    tmux.wait_for("server", r"^> hola desde el servidor$")

    tmux.type("client", "/ping")
    tmux.wait_for("client", r'^< Received pong \(data: ""\)$')

    tmux.type("client", "/close 4000 bye")
    tmux.wait_for("client", r'^Disconnected \(code: 4000, reason: "bye"\)$')
    tmux.wait_for("client", r"^EXIT=0$")
    tmux.wait_for("server", r'^\[client 1\] Disconnected \(code: 4000, reason: "bye"\)$')

    tmux.keys("server", "C-c")
    tmux.wait_for("server", r"^EXIT=0$")
    # The terminal is left as it was: the shell's echo is back.
    client_screen = tmux.screen("client")
    assert "^[" not in client_screen


def test_tutorial_echo_session(tmux, canal_serve):
    """Tutorial example 1: `wscat --slash -P -c ws://echo.websocket.org`, against `canal serve`."""
    tmux.start("client", [canal_path(), "--slash", "-P", "-c", canal_serve])
    tmux.wait_for("client", r"^Connected \(press CTRL\+C to quit\)$", 30)
    tmux.type("client", "Holi")
    tmux.wait_for("client", r"^< Holi$")
    tmux.type("client", "Enviando mensajes al Websocket....")
    tmux.wait_for("client", r"^< Enviando mensajes al Websocket\.\.\.\.$")
    tmux.type("client", "/ping")
    tmux.wait_for("client", r'^< Received pong \(data: ""\)$')
    tmux.type("client", "/close")
    tmux.wait_for("client", r'^Disconnected \(code: 1000, reason: ""\)$')
    tmux.wait_for("client", r"^EXIT=0$")
    lines = [line for line in tmux.screen("client").splitlines() if line.strip()]
    assert lines == [
        "Connected (press CTRL+C to quit)",
        "> Holi",
        "< Holi",
        "> Enviando mensajes al Websocket....",
        "< Enviando mensajes al Websocket....",
        "> /ping",
        '< Received pong (data: "")',
        "> /close",
        'Disconnected (code: 1000, reason: "")',
        "EXIT=0",
    ]


def test_line_editing_and_history(tmux, canal_serve):
    tmux.start("client", [canal_path(), "-c", canal_serve])
    tmux.wait_for("client", r"^Connected")
    tmux.type("client", "world", enter=False)
    tmux.keys("client", "Home")
    tmux.type("client", "hello ", enter=False)
    tmux.keys("client", "End")
    tmux.type("client", "!", enter=False)
    tmux.keys("client", "Enter")
    tmux.wait_for("client", r"^< hello world!$")

    # Ctrl-W erases a word, Left/Right move, Backspace deletes.
    tmux.type("client", "one two three", enter=False)
    tmux.keys("client", "C-w", "Left", "Left", "BSpace", "Enter")
    tmux.wait_for("client", r"^< one to $")

    # Up recalls earlier lines; editing a recalled line sends the edit.
    tmux.keys("client", "Up", "Up")
    tmux.wait_for("client", r"^> hello world!$")
    tmux.keys("client", "C-a", "C-k")  # Ctrl-A then Ctrl-K: an empty line again
    tmux.keys("client", "Up")
    tmux.keys("client", "C-u")
    tmux.type("client", "fresh", enter=False)
    tmux.keys("client", "C-a")
    tmux.type("client", ">", enter=False)
    tmux.keys("client", "C-e", "Enter")
    tmux.wait_for("client", r"^< >fresh$")

    # Ctrl-C closes with 1000 and exits 0.
    tmux.keys("client", "C-c")
    tmux.wait_for("client", r'^Disconnected \(code: 1000, reason: ""\)$')
    tmux.wait_for("client", r"^EXIT=0$")


def test_arriving_message_keeps_the_half_typed_line(tmux, py_server):
    import asyncio

    async def handler(ws):
        await ws.recv()          # "go"
        await asyncio.sleep(1.0)  # meanwhile the person types
        await ws.send("interruption")
        async for message in ws:
            await ws.send("got " + message)

    server = py_server(handler)
    tmux.start("client", [canal_path(), "-c", server.url])
    tmux.wait_for("client", r"^Connected")
    tmux.type("client", "go")
    tmux.type("client", "half typed", enter=False)
    tmux.wait_for("client", r"^< interruption$")
    screen = tmux.screen("client")
    assert re.search(r"^< interruption\n> half typed$", screen, re.MULTILINE), screen
    tmux.keys("client", "Enter")
    tmux.wait_for("client", r"^< got half typed$")
    tmux.keys("client", "C-d")  # Ctrl-D on an empty line: end of input
    tmux.wait_for("client", r"^EXIT=0$")
    server.wait_until(lambda: server.closes, what="the close")
    assert server.closes == [(1000, "")]


def test_binary_messages_show_as_a_hex_dump(tmux, canal_serve):
    tmux.start("client", [canal_path(), "--slash", "-c", canal_serve])
    tmux.wait_for("client", r"^Connected")
    tmux.type("client", "/binary hex 48 65 6c 6c 6f 00 ff")
    tmux.wait_for("client", r"^< binary message, 7 bytes$")
    tmux.wait_for("client", r"^  00000000  48 65 6c 6c 6f 00 ff  +\|Hello\.\.\|$")


def test_colour_on_a_terminal_and_not_with_no_color(tmux, canal_serve):
    tmux.start("colour", [canal_path(), "-c", canal_serve])
    tmux.wait_for("colour", r"^Connected")
    tmux.type("colour", "tinted")
    tmux.wait_for("colour", r"^< tinted$")
    coloured = tmux.screen("colour", colors=True)
    assert "\x1b[32mConnected" in coloured, coloured       # green state
    assert "\x1b[34m< tinted" in coloured, coloured        # blue incoming

    tmux.start("plain", [canal_path(), "--no-color", "-c", canal_serve])
    tmux.wait_for("plain", r"^Connected")
    tmux.type("plain", "untinted")
    tmux.wait_for("plain", r"^< untinted$")
    assert "\x1b[3" not in tmux.screen("plain", colors=True)


def test_escape_sequences_from_the_network_are_neutralised(tmux, py_server):
    async def handler(ws):
        await ws.recv()
        await ws.send("\x1b[2J\x1b[31mred?")
        await ws.wait_closed()

    server = py_server(handler)
    tmux.start("client", [canal_path(), "--no-color", "-c", server.url])
    tmux.wait_for("client", r"^Connected")
    tmux.type("client", "go")
    tmux.wait_for("client", r"^< \^\[\[2J\^\[\[31mred\?$")
