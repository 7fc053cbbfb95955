"""The monitoring dashboard of `canal serve` in headless Chromium: reached from the
welcome page, all four techniques update, and once paused the figures on the page agree
with what the server counted. A screenshot is kept in Tests/sse/artifacts/ (git-ignored)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from sse_support import ARTIFACTS, get_json, start_demo

TECHNIQUES = ["poll", "long-poll", "events", "ws"]
pytestmark = pytest.mark.browser


def test_dashboard_shows_four_techniques_and_agrees_with_the_server(browser, tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "demo.log", "--no-access-log")
    try:
        browser.get(demo.base + "/")
        link = browser.find_element(By.ID, "dashboard-page")
        assert link.get_attribute("href") == demo.base + "/dashboard.html"
        link.click()
        assert browser.title == "Canal demo: live monitoring, four ways"

        deadline = time.monotonic() + 20
        while True:
            counts = browser.execute_script("return window.dashboard.counts()")
            if all(counts[t]["received"] >= 4 for t in TECHNIQUES):
                break
            assert time.monotonic() < deadline, counts
            time.sleep(0.2)
        for technique in TECHNIQUES:
            panel = browser.find_element(By.ID, technique)
            assert panel.find_element(By.CLASS_NAME, "celsius").text.endswith("\u00b0C")
            assert panel.find_element(By.CLASS_NAME, "machine").text in ("running", "idle", "maintenance")
            assert int(panel.find_element(By.CLASS_NAME, "delay").text) >= 0
        # The push techniques deliver within a fraction of the polling period.
        average = {t: sum(counts[t]["delays"]) / len(counts[t]["delays"]) for t in TECHNIQUES}
        assert average["events"] < 500 and average["ws"] < 500, average

        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))

        browser.find_element(By.ID, "pause").click()
        deadline = time.monotonic() + 10
        while browser.execute_script("return document.body.dataset.state") != "paused":
            assert time.monotonic() < deadline, "the page did not pause"
            time.sleep(0.1)
        page = browser.execute_script("return window.dashboard.counts()")
        stats = get_json(demo.base + "/dashboard/stats")
        shown_after = browser.execute_script("return window.dashboard.refreshStats()")
        assert {t: shown_after[t] for t in TECHNIQUES} == {t: stats[t] for t in TECHNIQUES}, "counts moved after the pause"
        for technique in TECHNIQUES:
            panel = browser.find_element(By.ID, technique)
            counted = stats[technique]
            # What the page made and received is what the server counted.
            assert page[technique]["requests"] == counted["requests"], (technique, page[technique], counted)
            assert page[technique]["received"] == counted["updates"], (technique, page[technique], counted)
            assert int(panel.find_element(By.CLASS_NAME, "requests").text) == counted["requests"]
            assert int(panel.find_element(By.CLASS_NAME, "server-requests").text) == counted["requests"]
            total = counted["bytesSent"] + counted["bytesReceived"]
            expected = int(total / counted["updates"] + 0.5)
            assert int(panel.find_element(By.CLASS_NAME, "bytes-per-update").text) == expected
            assert panel.find_element(By.CLASS_NAME, "server-bytes").text == (
                f"{counted['bytesSent']} sent, {counted['bytesReceived']} received")
        # The tutorial's point, measured: per reading, polling costs more than a stream.
        per_update = {t: (stats[t]["bytesSent"] + stats[t]["bytesReceived"]) / stats[t]["updates"] for t in TECHNIQUES}
        assert per_update["poll"] > 2 * per_update["events"], per_update
        assert per_update["long-poll"] > 2 * per_update["events"], per_update
        assert per_update["events"] > per_update["ws"], per_update
        assert stats["events"]["requests"] == 1 and stats["ws"]["requests"] == 1

        # Nothing came from anywhere else: the page works offline.
        origins = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)")
        assert set(origins) <= {demo.base}
    finally:
        demo.stop()
