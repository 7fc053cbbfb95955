"""Fixtures for the web server suite: one demo server per module, on a copy of the demo
site with escape traps planted around it."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from web_support import DEMO, DemoServer, bin_dir, make_site, start_demo


def pytest_report_header(config: pytest.Config) -> list[str]:
    exe = bin_dir() / DEMO
    return [f"{DEMO}: {'found' if exe.is_file() else 'MISSING'} ({exe})"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def server(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    log = tmp_path_factory.mktemp("log") / "server.log"
    demo = start_demo(
        [
            "--public", str(site),
            "--request-head-timeout", "1",
            "--max-body-size", "65536",
            "--max-request-line", "4096",
            "--max-header-count", "50",
            "--max-header-size", "8192",
        ],
        log,
    )
    yield demo
    demo.stop()
