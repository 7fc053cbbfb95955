"""Listen mode (`canal -l PORT`): several clients, what is typed goes to all,
what each sends is printed; python `websockets` clients."""

from __future__ import annotations

import asyncio
import re
import socket

import pytest

from cli_support import LISTENING_RE, START_TIMEOUT, run_canal


def listening_port(canal) -> int:
    return int(canal.expect_stderr(LISTENING_RE.pattern, START_TIMEOUT).group(1))


def run(coro, timeout: float = 30.0):
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


def test_messages_cross_both_ways(start_canal):
    from websockets.asyncio.client import connect

    canal = start_canal("-l", "0")
    port = listening_port(canal)

    async def session():
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            canal.expect_stderr(r"^\[client 1\] Connected \(from 127\.0\.0\.1:\d+\)$")
            canal.send_line("hello client")
            assert await ws.recv() == "hello client"
            await ws.send("hello server")
            canal.expect_stdout("^hello server$")
            await ws.send(b"\x01\x02\xff")
            canal.expect_stdout(r"^00000000  01 02 ff  +\|\.\.\.\|$")

    run(session())
    canal.expect_stderr(r'^\[client 1\] Disconnected \(code: 1000, reason: ""\)$')
    canal.close_stdin()
    assert canal.wait() == 0, canal


def test_typed_lines_go_to_every_client(start_canal):
    from websockets.asyncio.client import connect

    canal = start_canal("-l", "0")
    port = listening_port(canal)

    async def session():
        async with connect(f"ws://127.0.0.1:{port}/") as a, connect(f"ws://127.0.0.1:{port}/") as b:
            canal.expect_stderr_all([r"^\[client 1\] Connected", r"^\[client 2\] Connected"])
            canal.send_line("to everyone")
            assert await a.recv() == "to everyone"
            assert await b.recv() == "to everyone"
            await a.close(4000, "a leaves")
            canal.expect_stderr(r'^\[client 1\] Disconnected \(code: 4000, reason: "a leaves"\)$')
            canal.send_line("only b is left")
            assert await b.recv() == "only b is left"
            # The end of input closes the remaining clients with 1000.
            canal.close_stdin()
            await b.wait_closed()
            return b.close_code

    assert run(session()) == 1000
    assert canal.wait() == 0, canal


def test_slash_commands_apply_to_all_clients(start_canal):
    from websockets.asyncio.client import connect

    canal = start_canal("--slash", "-l", "0")
    port = listening_port(canal)

    async def session():
        async with connect(f"ws://127.0.0.1:{port}/") as a, connect(f"ws://127.0.0.1:{port}/") as b:
            canal.expect_stderr_all([r"^\[client 1\] Connected", r"^\[client 2\] Connected"])
            canal.send_line("/binary hex cafe")
            assert await a.recv() == b"\xca\xfe"
            assert await b.recv() == b"\xca\xfe"
            canal.send_line("/close 4002 shutting the room")
            await a.wait_closed()
            await b.wait_closed()
            return [(a.close_code, a.close_reason), (b.close_code, b.close_reason)]

    assert run(session()) == [(4002, "shutting the room")] * 2
    # The server goes on listening after /close.
    canal.expect_stderr_all([rf'^\[client {n}\] Disconnected \(code: 4002, reason: "shutting the room"\)$'
                             for n in (1, 2)])

    async def again():
        async with connect(f"ws://127.0.0.1:{port}/") as c:
            canal.expect_stderr(r"^\[client 3\] Connected")
            await c.send("still listening")
            canal.expect_stdout("^still listening$")

    run(again())
    canal.close_stdin()
    assert canal.wait() == 0, canal


def test_client_pings_are_shown_with_P(start_canal):
    from websockets.asyncio.client import connect

    canal = start_canal("-P", "-l", "0")
    port = listening_port(canal)

    async def session():
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            pong = await ws.ping(b"marco")
            await asyncio.wait_for(pong, 10)

    run(session())
    canal.expect_stdout(r'^Received ping \(data: "marco"\)$')


def test_subprotocol_is_accepted_when_offered(start_canal):
    from websockets.asyncio.client import connect

    canal = start_canal("listen", "0", "-s", "chat")
    port = listening_port(canal)

    async def session():
        async with connect(f"ws://127.0.0.1:{port}/", subprotocols=["other", "chat"]) as ws:
            return ws.subprotocol

    assert run(session()) == "chat"
    canal.expect_stderr(r"^\[client 1\] Connected .*, subprotocol chat$")


def test_sigint_closes_clients_with_1000_and_exits_0(start_canal):
    import signal
    from websockets.asyncio.client import connect

    canal = start_canal("-l", "0")
    port = listening_port(canal)

    async def session():
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            canal.expect_stderr(r"^\[client 1\] Connected")
            canal.proc.send_signal(signal.SIGINT)
            await ws.wait_closed()
            return ws.close_code

    assert run(session()) == 1000
    assert canal.wait() == 0, canal


def test_port_in_use_exits_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_canal("-l", port, timeout=30)
    assert result.returncode == 1, result
    assert result.stderr.strip() == f"error: could not listen on 127.0.0.1:{port}: the address is already in use"


def test_canal_client_talks_to_canal_listen(start_canal):
    server = start_canal("-l", "0")
    port = listening_port(server)
    client = start_canal("-c", f"127.0.0.1:{port}", "-w", "-1")
    server.expect_stderr(r"^\[client 1\] Connected")
    client.expect_stderr("^Connected")
    client.send_line("from the client")
    server.expect_stdout("^from the client$")
    server.send_line("from the server")
    client.expect_stdout("^from the server$")
    server.close_stdin()
    assert client.wait() == 0, client
    assert server.wait() == 0, server


@pytest.mark.parametrize("argv", [["listen", "0", "--bind", "127.0.0.2"], ["-l", "0", "--bind", "127.0.0.2"]])
def test_bind_chooses_the_address(start_canal, argv):
    from websockets.asyncio.client import connect

    canal = start_canal(*argv)
    port = listening_port(canal)

    async def session():
        with pytest.raises(OSError):
            async with connect(f"ws://127.0.0.1:{port}/", open_timeout=5):
                pass
        async with connect(f"ws://127.0.0.2:{port}/", open_timeout=5) as ws:
            return ws.remote_address[0]

    assert run(session()) == "127.0.0.2"


def test_piped_lines_wait_for_the_first_client(start_canal):
    from websockets.asyncio.client import connect

    canal = start_canal("-l", "0")
    port = listening_port(canal)
    canal.send_line("waiting for you")

    async def session():
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            return await ws.recv()

    assert run(session()) == "waiting for you"
