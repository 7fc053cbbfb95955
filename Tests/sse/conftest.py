"""Fixtures of the server-sent events suite."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from sse_support import Process, bin_dir, chromium, start_testserver


def pytest_report_header(config: pytest.Config) -> list[str]:
    names = ["canal", "canal-sse-testserver"]
    return [f"{name}: {'found' if (bin_dir() / name).is_file() else 'MISSING'}" for name in names]


@pytest.fixture(scope="module")
def testserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    server = start_testserver(tmp_path_factory.mktemp("log") / "server.log", "--heartbeat", "1000")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()
