"""The tutorial's Socket.IO examples (7, 8 and 9) on `canal serve`, in headless Chromium.

The pages load /socket.io/socket.io.js from the server, as the tutorial's do. Each test
also reads the server's console (what `canal serve` prints), and saves screenshots under
reports/screenshots/ for a person to look at.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as until
from selenium.webdriver.support.ui import WebDriverWait

from browser_support import DemoServer, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoServer]:
    server = DemoServer(tmp_path / "serve.log").start()
    yield server
    server.stop()


def wait(driver: webdriver.Chrome, seconds: float = 10) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def received(driver: webdriver.Chrome) -> list[str]:
    return [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#messages li")]


def status(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.ID, "status").text


def test_welcome_page_links_the_socketio_examples(demo: DemoServer, browser: webdriver.Chrome) -> None:
    browser.get(demo.base + "/")
    for link, page in (("socketio-echo-page", "/socketio-echo.html"), ("socketio-events-page", "/socketio-events.html"),
                       ("socketio-chat-page", "/socketio-chat.html")):
        assert browser.find_element(By.ID, link).get_attribute("href") == demo.base + page


def test_example_7_echo_greets_echoes_each_click_and_shows_the_disconnect(
    demo: DemoServer, browser: webdriver.Chrome
) -> None:
    browser.get(demo.base + "/socketio-echo.html")
    button = wait(browser).until(until.element_to_be_clickable((By.ID, "send")))
    assert status(browser).startswith("Connected (socket ")
    wait(browser).until(lambda _: received(browser) == ["Hello from the browser!"])
    for _ in range(3):
        button.click()
    expected = ["Hello from the browser!"] + [f"Message number {n}" for n in (1, 2, 3)]
    wait(browser).until(lambda _: received(browser) == expected)
    # The server's console, as the tutorial's server prints it: the connection, then each
    # message in the order it came.
    demo.wait_for_line(r"^\*\* new connection \*\* 127\.0\.0\.1")
    messages = demo.wait_for_line(r"^message received: ", count=4)
    assert [line.split(": ", 1)[1] for line in messages] == expected
    assert not any("\x1b[" in line for line in demo.lines), "no colour when the console is not a terminal"
    screenshot(browser, "example-7-socketio-echo")
    # The server goes away: the page says so.
    demo.stop()
    wait(browser).until(lambda _: status(browser).startswith("Disconnected"))
    assert button.get_attribute("disabled") is not None
    screenshot(browser, "example-7-disconnected")


def test_example_8_tics_are_printed_by_the_server_and_never_echoed(demo: DemoServer, browser: webdriver.Chrome) -> None:
    browser.get(demo.base + "/socketio-events.html")
    button = wait(browser).until(until.element_to_be_clickable((By.ID, "send")))
    wait(browser).until(lambda _: received(browser) == ["Hello from the browser!"])
    tics = demo.wait_for_line(r"^tic \d+$", count=3, timeout=10)
    assert tics[:3] == ["tic 1", "tic 2", "tic 3"]
    button.click()
    wait(browser).until(lambda _: received(browser) == ["Hello from the browser!", "Message number 1"])
    time.sleep(1.2)  # another tic or two go by
    assert all(not text.startswith("tic") for text in received(browser))
    assert "Last tic sent:" in browser.find_element(By.ID, "tics").text
    screenshot(browser, "example-8-socketio-events")
    page = browser.current_window_handle
    browser.get(demo.base + "/")  # leaving the page ends its connection
    demo.wait_for_line(r"^\*\* connection ended \*\* .*: transport close$")
    assert browser.current_window_handle == page


def chat_window(browser: webdriver.Chrome, base: str, first: bool) -> str:
    if not first:
        browser.switch_to.new_window("window")
    browser.get(base + "/socketio-chat.html")
    wait(browser).until(lambda _: status(browser).startswith("Connected as "))
    return browser.current_window_handle


def say(browser: webdriver.Chrome, window: str, text: str) -> None:
    browser.switch_to.window(window)
    entry = browser.find_element(By.ID, "entry")
    entry.send_keys(text, Keys.ENTER)


def test_example_9_mini_chat_in_three_windows(demo: DemoServer, browser: webdriver.Chrome) -> None:
    windows = [chat_window(browser, demo.base, first=(i == 0)) for i in range(3)]
    demo.wait_for_line(r"^\*\* new chat connection \*\*", count=3)
    try:
        sent = []
        for round_ in range(3):
            for i, window in enumerate(windows):
                text = f"window {i + 1} says {round_ + 1}"
                say(browser, window, text)
                sent.append(text)
        # Every window shows every message once, all in the same order: the server's.
        for window in windows:
            browser.switch_to.window(window)
            wait(browser).until(lambda _: len(received(browser)) == len(sent))
        seen = []
        for window in windows:
            browser.switch_to.window(window)
            seen.append(received(browser))
        assert seen[0] == seen[1] == seen[2]
        assert sorted(seen[0]) == sorted(sent)
        printed = demo.wait_for_line(r"^chat message: ", count=len(sent))
        assert [line.split(": ", 1)[1] for line in printed] == seen[0]
        for i, window in enumerate(windows):
            browser.switch_to.window(window)
            screenshot(browser, f"example-9-chat-window-{i + 1}")

        # A window that reloads rejoins the chat and gets what is said afterwards.
        browser.switch_to.window(windows[1])
        browser.refresh()
        wait(browser).until(lambda _: status(browser).startswith("Connected as "))
        demo.wait_for_line(r"^\*\* new chat connection \*\*", count=4)
        say(browser, windows[0], "after the reload")
        for window in windows:
            browser.switch_to.window(window)
            wait(browser).until(lambda _: received(browser)[-1:] == ["after the reload"])
        browser.switch_to.window(windows[1])
        assert received(browser) == ["after the reload"]
    finally:
        for window in windows[1:]:
            browser.switch_to.window(window)
            browser.close()
        browser.switch_to.window(windows[0])
