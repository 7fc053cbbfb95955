"""Our Socket.IO client (Clients/js/socket.io.js) in headless Chromium, against the
python-socketio reference server and Canal's test server (Tests/socketio/CONTRACT.md), in
each transport mode: polling only, websocket only, and polling upgraded to websocket."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium import webdriver

from browser_support import Server, run_check

pytestmark = pytest.mark.browser

MODES = ["polling", "websocket", "upgrade"]
FINAL_TRANSPORT = {"polling": "polling", "websocket": "websocket", "upgrade": "websocket"}


def binary(data: bytes) -> dict:
    return {"$binary": "ArrayBuffer", "hex": data.hex()}


@pytest.fixture(params=MODES)
def page(request: pytest.FixtureRequest, server: Server, browser: webdriver.Chrome) -> tuple[webdriver.Chrome, str]:
    """The check page of this server in one transport mode (loaded once per server and mode)."""
    mode = request.param
    url = f"{server.base}/checks.html?mode={mode}"
    if browser.current_url != url:
        browser.get(url)
    return browser, mode


def test_connects_and_gets_welcome(page, server: Server) -> None:
    browser, mode = page
    seen = run_check(browser, "connect")
    assert seen["before"] == {"connected": False, "disconnected": True, "active": True}
    assert isinstance(seen["id"], str) and seen["id"]
    assert (seen["connected"], seen["disconnected"], seen["active"], seen["recovered"]) == (True, False, True, False)
    assert seen["transport"] == FINAL_TRANSPORT[mode]
    assert isinstance(seen["engineId"], str) and seen["engineId"]
    # A CONNECT without auth: the official server (and Canal) hand the application `{}`,
    # python-socketio None.
    auth = None if server.impl == "python" else {}
    assert seen["welcome"] == {"id": seen["id"], "nsp": "/", "auth": auth, "recovered": False}


def test_json_events_round_trip_in_order(page) -> None:
    browser, _ = page
    seen = run_check(browser, "json")
    assert seen["echoed"] == [1, "two", {"three": [3, 3.5, None, True, False]}, "ünïcødé ✓ 😀", [], {}, ""]
    assert seen["message"] == ["plain message"]
    assert seen["order"] == list(range(50))


def test_binary_events_round_trip(page) -> None:
    browser, _ = page
    seen = run_check(browser, "binary")
    assert seen["echoes"] == [
        [binary(bytes(range(256)))],
        [binary(b"\x01\x02\x03")],
        [binary(bytes([10, 11, 12, 13]))],
        [binary(b"\xca\xfe"), "after blob"],  # a Blob is read first, and keeps its place
        ["json right after the blob"],
        [{"nested": [{"deep": binary(b"\x02\x01")}, "text"], "plain": 1}],
    ]
    assert seen["hello"] == {"all": binary(bytes(range(256))), "nested": [{"b": binary(b"\x01\x02\x03")}], "text": "ok"}


def test_acks_and_ack_timeouts(page) -> None:
    browser, _ = page
    seen = run_check(browser, "acks")
    assert seen["withAck"] == [1, {"two": 2}]
    assert seen["emitWithAck"] == "promised"
    assert seen["timeoutOk"] == {"error": None, "args": ["in time"]}
    assert seen["timeoutFails"] == {"error": {"message": "operation has timed out", "data": None}, "args": []}
    assert 250 <= seen["timeoutElapsed"] < 2500
    assert seen["rejected"] == "operation has timed out"
    assert seen["binaryAck"] == binary(b"\x07\x08")
    assert seen["askAnswered"] == {"ok": True, "response": ["answer to life", 42]}
    assert seen["askIgnored"] == {"ok": False, "error": "timeout"}


def test_retries_with_ack_timeout(page) -> None:
    browser, _ = page
    seen = run_check(browser, "retries")
    assert seen["ok"] == {"error": None, "args": ["retried"]}
    assert seen["failed"]["error"]["message"] == "operation has timed out"
    # retries: 2 means three tries of the packet nobody acknowledges.
    assert seen["outgoing"] == ["echo-ack", "nobody-acks-this", "nobody-acks-this", "nobody-acks-this"]


def test_namespaces_refused_allowed_dynamic_and_multiplexed(page) -> None:
    browser, _ = page
    seen = run_check(browser, "namespaces")
    assert seen["refused"] == {"message": "admin only", "data": {"role": None}}
    assert seen["refusedActive"] is False
    assert seen["allowedWelcome"]["nsp"] == "/admin"
    assert seen["allowedWelcome"]["auth"] == {"role": "admin"}
    assert seen["dynamicWelcome"]["nsp"] == "/dyn-x1"
    assert seen["dynamicEcho"] == ["in dyn-x1"]
    assert seen["missing"]["message"] == "Invalid namespace"
    assert seen["sharedManager"] is True and seen["sharedEngine"] is True
    assert seen["sameNamespaceNewManager"] is True
    assert seen["multiplexFalseNewManager"] is True
    assert seen["adminEcho"] == ["admin only"]
    assert seen["mainSawAdminEcho"] == 0
    assert seen["mainAfterAdminLeft"] == ["still here"]


def test_rooms_join_to_room_leave(page) -> None:
    browser, _ = page
    seen = run_check(browser, "rooms")
    assert seen["joined"] == sorted([seen["aId"], "room-1"])
    assert seen["heardA"] == [["you", 1]]
    assert seen["heardB"] == []
    assert seen["left"] == [seen["aId"]]
    assert seen["heardAAfterLeave"] == 1
    assert seen["rooms"] == [seen["bId"]]
    assert seen["broadcastOthers"] == {"a": 0, "b": [["for the others"]]}


def test_connect_error_carries_server_data_and_auth_function(page) -> None:
    browser, _ = page
    seen = run_check(browser, "auth")
    assert seen["rejected"] == {"message": "not authorized", "data": {"reason": "bad token", "code": 4001}}
    assert seen["rejectedActive"] is False
    assert seen["functionWelcome"]["auth"] == {"token": "fine", "n": 1}
    assert seen["retryWelcome"]["auth"] == {"token": "second try"}


def test_disconnect_reasons(page) -> None:
    browser, _ = page
    seen = run_check(browser, "disconnects")
    assert seen["serverReason"] == "io server disconnect"
    # No reconnection after the server disconnected us, although reconnection is on.
    assert seen["afterServer"] == {"connected": False, "active": False, "id": True}
    assert seen["clientReason"] == "io client disconnect"
    assert seen["afterClient"] == {"connected": False, "active": False}
    assert len(seen["serverSawClient"]) == 1 and "client" in seen["serverSawClient"][0]


def test_any_listeners_in_and_out(page) -> None:
    browser, _ = page
    seen = run_check(browser, "anyListeners")
    assert seen["order"] == [
        ["first", "echo", "seen by all"],
        ["second", "echo", "seen by all"],
        ["second", "echo", "second"],
    ]
    assert seen["outgoing"] == [["out0", "echo"], ["out1", "echo", "seen by all"], ["out1", "echo", "second"]]
    assert seen["listenersBefore"] == [2, 2]
    assert seen["listenersAfter"] == [0, 0]


def test_volatile_is_dropped_offline_and_sent_online(page) -> None:
    browser, _ = page
    seen = run_check(browser, "volatile")
    assert seen["buffered"] == 0
    assert seen["echoes"] == [["volatile while connected"]]


def test_offline_emits_are_bounded_then_sent(page) -> None:
    browser, _ = page
    seen = run_check(browser, "bufferBound")
    assert seen["before"] == {"buffered": 3, "dropped": 2}
    assert seen["overflow"] == [
        [{"event": "echo", "args": ["offline 1"]}, 1],
        [{"event": "echo", "args": ["offline 2"]}, 2],
    ]
    assert seen["echoes"] == [["offline 3"], ["offline 4"], ["offline 5"]]
    assert seen["dropped"] == 2
    assert seen["defaultBound"] == 1000


def test_engine_settings_and_manager_defaults(page) -> None:
    browser, mode = page
    seen = run_check(browser, "engineApi")
    assert seen["transport"] == FINAL_TRANSPORT[mode]
    assert (seen["pingInterval"], seen["pingTimeout"]) == (25000, 20000)
    assert seen["managerDefaults"] == {
        "reconnection": True,
        "attempts": None,  # Infinity, as JSON
        "delay": 1000,
        "delayMax": 5000,
        "factor": 0.5,
        "timeout": 20000,
        "path": "/socket.io",
    }
    assert seen["protocol"] == 5


@pytest.mark.parametrize("mode", MODES)
def test_reconnects_after_restart_and_sends_bounded_buffer(
    mode: str, server: Server, browser: webdriver.Chrome, static: Path, tmp_path: Path
) -> None:
    own = Server(server.impl, static, tmp_path / "server.log").start()
    try:
        browser.get(f"{own.base}/checks.html?mode={mode}")
        first = run_check(browser, "reconnectStart")
        assert first["transport"] in ("polling", "websocket")
        own.stop()
        offline = run_check(browser, "reconnectOffline")
        assert offline["disconnects"][0][0] in ("transport close", "transport error")
        assert offline["connected"] is False and offline["active"] is True
        assert offline["buffered"] == ["queued 3", "queued 4", "queued 5"]
        assert offline["dropped"] == 2
        assert offline["overflow"] == [["echo", "queued 1", 1], ["echo", "queued 2", 2]]
        own.start()  # the same port again
        final = run_check(browser, "reconnectFinish")
        assert final["echoes"] == [["queued 3"], ["queued 4"], ["queued 5"]]
        assert final["attempts"] >= 1
        assert final["attemptNumbers"][0] == 1
        assert len(final["reconnects"]) == 1
        assert final["newId"] is True and final["connected"] is True
        assert final["recovered"] is False
        assert final["sendBuffer"] == 0
    finally:
        own.stop()


@pytest.mark.parametrize("impl", ["canal"])  # python-socketio has no connection state recovery
def test_recovers_missed_events(impl: str, browser: webdriver.Chrome, static: Path, tmp_path: Path) -> None:
    own = Server(impl, static, tmp_path / "server.log", ["--recovery"]).start()
    try:
        browser.get(f"{own.base}/checks.html?mode=websocket")
        seen = run_check(browser, "recovery")
        assert seen["echoed"] == ["x", 2]  # the offset the server appends is stripped
        assert seen["offsetAfterEcho"] == "string"
        assert seen["reason"] == "transport close"
        assert seen["recovered"] is True and seen["sameId"] is True
        assert seen["missed"] == [["while away", 42]]
    finally:
        own.stop()
