"""The demo site in a real browser: headless Chromium driven by chromedriver (selenium).

Debian: ``apt-get install -y chromium chromium-driver``; PyPI: ``selenium``.
"""

from __future__ import annotations

import shutil
from typing import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as until
from selenium.webdriver.support.ui import WebDriverWait

from web_support import DemoServer

pytestmark = pytest.mark.browser


def find_executable(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError(f"none of {names} is installed: apt-get install -y chromium chromium-driver")


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = find_executable("chromium", "chromium-browser", "google-chrome")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-proxy-server",  # talk to 127.0.0.1 directly, whatever the environment says
        "--window-size=1024,768",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(find_executable("chromedriver")), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def wait(driver: webdriver.Chrome, seconds: float = 10) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def resources(driver: webdriver.Chrome) -> dict[str, dict]:
    """The page's resource timing entries by path, with the response status."""
    entries = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => "
        "({name: e.name, initiatorType: e.initiatorType, status: e.responseStatus, size: e.decodedBodySize}))"
    )
    return {entry["name"].split("://", 1)[1].split("/", 1)[1]: entry for entry in entries}


def fetch_type(driver: webdriver.Chrome, path: str) -> list:
    """Fetches ``path`` from the page and returns [status, Content-Type]."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {cache: 'no-store'})"
        ".then(r => done([r.status, r.headers.get('content-type')]))"
        ".catch(e => done([0, String(e)]));",
        path,
    )


def test_landing_page_links_to_each_example(server: DemoServer, browser: webdriver.Chrome) -> None:
    browser.get(server.base + "/")
    assert browser.title == "Canal demo"
    test_link = browser.find_element(By.ID, "test-page")
    echo_link = browser.find_element(By.ID, "echo-page")
    assert test_link.get_attribute("href") == server.base + "/test.html"
    assert echo_link.get_attribute("href") == server.base + "/echo.html"
    # The shared style sheet applies: the header takes the site's colour.
    background = browser.execute_script(
        "return getComputedStyle(document.querySelector('header')).backgroundColor"
    )
    assert background == "rgb(31, 122, 153)"
    test_link.click()
    wait(browser).until(until.title_contains("static test page"))


def test_test_page_loads_its_style_script_and_images(server: DemoServer, browser: webdriver.Chrome) -> None:
    browser.get(server.base + "/test.html")
    # The script ran.
    status = wait(browser).until(until.presence_of_element_located((By.CSS_SELECTOR, "#script-status[data-loaded='yes']")))
    assert status.text == "test.js is running."
    browser.find_element(By.ID, "click-me").click()
    browser.find_element(By.ID, "click-me").click()
    assert browser.find_element(By.ID, "click-count").text == "2"
    # The page's own style sheet applied (only css/test.css sets this colour).
    colour = browser.execute_script("return getComputedStyle(document.getElementById('styled')).color")
    assert colour == "rgb(31, 122, 153)"
    # Both images decoded: a wrong Content-Type with nosniff would leave them broken.
    sizes = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])"
    )
    assert sorted(sizes) == [["img/canal.svg", True, 64], ["img/waves.png", True, 32]]
    # Every resource arrived with status 200 (a 304 revalidation shows as 200 here too).
    loaded = resources(browser)
    for path, kind in [
        ("css/site.css", "link"),
        ("css/test.css", "link"),
        ("js/test.js", "script"),
        ("img/canal.svg", "img"),
        ("img/waves.png", "img"),
    ]:
        assert path in loaded, (path, sorted(loaded))
        assert loaded[path]["initiatorType"] == kind
        assert loaded[path]["status"] == 200


@pytest.mark.parametrize(
    "path, media_type",
    [
        ("/test.html", "text/html; charset=utf-8"),
        ("/css/test.css", "text/css; charset=utf-8"),
        ("/js/test.js", "text/javascript; charset=utf-8"),
        ("/img/canal.svg", "image/svg+xml"),
        ("/img/waves.png", "image/png"),
    ],
)
def test_browser_sees_the_right_content_types(
    server: DemoServer, browser: webdriver.Chrome, path: str, media_type: str
) -> None:
    if not browser.current_url.startswith(server.base):
        browser.get(server.base + "/test.html")
    assert fetch_type(browser, path) == [200, media_type]


def test_echo_page_greets_and_echoes_each_button_press(server: DemoServer, browser: webdriver.Chrome) -> None:
    browser.get(server.base + "/echo.html")
    button = wait(browser).until(until.element_to_be_clickable((By.ID, "send")))
    assert "Connected to ws://127.0.0.1:" in browser.find_element(By.ID, "status").text

    def received() -> list[str]:
        return [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#messages li")]

    wait(browser).until(lambda _: received() == ["Hello from the browser!"])
    for _ in range(3):
        button.click()
    expected = ["Hello from the browser!", "Message number 1", "Message number 2", "Message number 3"]
    wait(browser).until(lambda _: received() == expected)
    # The server saw them too, and the upgrade used the page's own origin.
    server.wait_for_log(r"said: Message number 3")


def test_echo_page_session_is_logged_when_it_ends(server: DemoServer, browser: webdriver.Chrome) -> None:
    browser.get(server.base + "/echo.html")
    wait(browser).until(until.element_to_be_clickable((By.ID, "send")))
    browser.get(server.base + "/")  # leaving the page closes the socket
    server.wait_for_log(r'"GET /echo HTTP/1\.1" 101 websocket [\d.]+s close=\d+ "Mozilla')
