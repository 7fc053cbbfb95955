"""Fixtures for the browser suite: one headless Chromium for the session, one Socket.IO test
server per implementation ([python] the python-socketio reference, [canal] Canal's)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from selenium import webdriver

from browser_support import IMPLEMENTATIONS, Server, bin_dir, make_static, new_browser


def pytest_report_header(config: pytest.Config) -> list[str]:
    exe = bin_dir() / "canal-sio-testserver"
    return [f"canal-sio-testserver: {'found' if exe.is_file() else 'MISSING'} ({exe})"]


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    driver = new_browser()
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_static(tmp_path_factory.mktemp("static"))


@pytest.fixture(scope="module", params=IMPLEMENTATIONS)
def server(request: pytest.FixtureRequest, static: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("log") / f"{request.param}.log"
    running = Server(request.param, static, log).start()
    yield running
    running.stop()
