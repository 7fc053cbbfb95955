"""Fixtures for the `canal` command-line tests. See cli_support.py."""

from __future__ import annotations

import itertools
import os
import signal
from typing import Any, Callable, Iterator

import pytest

from cli_support import (
    SERVE_RE,
    START_TIMEOUT,
    CanalProcess,
    PyServer,
    Tmux,
    bin_dir,
    canal_path,
)

_counter = itertools.count(1)


def pytest_report_header(config: pytest.Config) -> list[str]:
    path = bin_dir() / "canal"
    return [f"canal binary: {path} ({'found' if path.is_file() else 'MISSING'})"]


@pytest.fixture(autouse=True)
def canal_binary():
    """Every test needs the binary: a missing one fails the test (never a skip)."""
    return canal_path()


@pytest.fixture
def start_canal() -> Iterator[Callable[..., CanalProcess]]:
    """Factory: start_canal("-c", url) -> CanalProcess, killed at teardown."""
    started: list[CanalProcess] = []

    def start(*args: Any, env: dict[str, str] | None = None) -> CanalProcess:
        process = CanalProcess(list(args), env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


@pytest.fixture
def canal_serve(start_canal) -> str:
    """`canal serve` (the demo site) on 127.0.0.1 and a free port; returns its echo's ws:// URL."""
    server = start_canal("serve", "--host", "127.0.0.1", "--port", "0")
    match = server.stdout.wait_for(SERVE_RE, START_TIMEOUT)
    if match is None:
        server.kill()
        pytest.fail(f"`canal serve` did not start\n{server}", pytrace=False)
    return f"ws://127.0.0.1:{match.group(1)}/echo"


@pytest.fixture
def py_server() -> Iterator[Callable[..., PyServer]]:
    """Factory for python `websockets` servers, stopped at teardown."""
    servers: list[PyServer] = []

    def start(handler=None, **kwargs: Any) -> PyServer:
        server = PyServer(handler, **kwargs)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(params=["canal-serve", "python-websockets"])
def echo_url(request, canal_serve_factory) -> str:
    """The URL of an echo server: ours, then python `websockets`."""
    return canal_serve_factory(request.param)


@pytest.fixture
def canal_serve_factory(request, start_canal, py_server) -> Callable[[str], str]:
    def make(kind: str) -> str:
        if kind == "canal-serve":
            return request.getfixturevalue("canal_serve")
        return py_server().url

    return make


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux(f"canal-cli-{os.getpid()}-{next(_counter)}")
    yield session
    session.kill()
