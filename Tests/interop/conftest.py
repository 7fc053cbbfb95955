"""Fixtures and hooks for the interop suite.

Binaries are looked up in ``$CANAL_BIN_DIR`` (default ``<repo>/.build/debug``,
computed from this file's location). Tests marked
``@pytest.mark.needs_binaries(...)`` FAIL (never skip) when a binary is missing,
so a run without a build cannot pass vacuously. Every subprocess a test starts
is killed at teardown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from canal_interop import (
    CANAL,
    TESTPEER,
    CanalServer,
    ManagedProcess,
    bin_dir,
    binary_path,
    require_binary,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_binaries(*names): the test runs Canal binaries; if any is missing "
        "the test FAILS (it is never skipped).",
    )
    config.addinivalue_line(
        "markers", "autobahn: full Autobahn (kosoku) conformance runs; slow."
    )
    config.addinivalue_line(
        "markers",
        "browser: drives headless Chromium (Debian's chromium and chromium-driver, pip's "
        "selenium); skipped when one of them is missing.",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs_binaries"):
        for name in marker.args or (CANAL, TESTPEER):
            require_binary(name)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"canal bin dir: {bin_dir()}"]
    for name in (CANAL, TESTPEER):
        p = binary_path(name)
        lines.append(f"  {name}: {'found' if p.is_file() else 'MISSING'} ({p})")
    return lines


@pytest.fixture
def canal_exe() -> Path:
    return require_binary(CANAL)


@pytest.fixture
def testpeer_exe() -> Path:
    return require_binary(TESTPEER)


@pytest.fixture
def process_registry():
    """Collects every ManagedProcess a test starts; kills them all at teardown,
    whatever happened in the test."""
    procs: list[ManagedProcess] = []
    yield procs
    for p in procs:
        p.kill()


@pytest.fixture
def start_server(canal_exe: Path, process_registry) -> Callable[..., CanalServer]:
    """Factory: ``start_server("--max-message-size", "1024")`` -> CanalServer."""

    def start(*extra_args: str) -> CanalServer:
        server = CanalServer(canal_exe, list(extra_args))
        process_registry.append(server)
        return server

    return start


@pytest.fixture
def canal_server(start_server) -> CanalServer:
    """A default `canal serve` instance."""
    return start_server()


@pytest.fixture
def spawn(process_registry) -> Callable[..., ManagedProcess]:
    """Factory for arbitrary managed processes (killed at teardown)."""

    def start(argv: list[Any], **kwargs: Any) -> ManagedProcess:
        p = ManagedProcess([str(a) for a in argv], **kwargs)
        process_registry.append(p)
        return p

    return start
