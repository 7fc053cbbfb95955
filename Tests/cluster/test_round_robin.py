"""No sticky sessions: three Canal servers behind nginx plain round-robin, every request of
a session free to reach any server. python-socketio clients in polling-only, WebSocket-only
and upgrade modes; a request for another server's session is relayed to its owner."""
import collections
import time

import pytest
import socketio

from clienthelp import Recorder
from nginx_balancer import PING_INTERVAL_MS, start_balanced

MODES = {"polling": ["polling"], "websocket": ["websocket"], "upgrade": ["polling", "websocket"]}


class Client:
    def __init__(self, url, mode, wait_timeout=10):
        self.mode = mode
        self.sio = socketio.Client(reconnection=False)
        self.rec = Recorder(self.sio, ["/"])
        self.drops = []
        self.sio.on("disconnect", lambda *a: self.drops.append(a))
        self.sio.connect(url, transports=MODES[mode], wait_timeout=wait_timeout)
        self.welcome = self.rec.wait("welcome", timeout=wait_timeout)[0][0]
        if mode == "upgrade":  # the probe goes to any server; wait for it to finish
            deadline = time.monotonic() + 5
            while self.sio.transport() != "websocket" and time.monotonic() < deadline:
                time.sleep(0.05)

    def call(self, event, data=None):
        return self.sio.call(event, data, timeout=5)

    def close(self):
        if self.sio.connected:
            self.sio.disconnect()


def open_all(url, per_mode=3):
    return [Client(url, mode) for mode in MODES for _ in range(per_mode)]


def close_all(clients):
    for c in clients:
        c.close()


def test_every_mode_connects_through_round_robin_and_stays_up_for_several_ping_intervals(balanced):
    servers, nginx = balanced
    clients = open_all(nginx.url)
    try:
        # Longer than pingInterval + pingTimeout: a pong lost on the way would end a session.
        time.sleep(PING_INTERVAL_MS / 1000 * 4 + 2.0 + 0.5)
        for c in clients:
            assert c.sio.connected and c.drops == [], c.mode
            assert c.call("echo-ack", {"still": c.mode}) == {"still": c.mode}
            assert c.sio.transport() == ("polling" if c.mode == "polling" else "websocket"), c.mode
        names = {c.call("server-name") for c in clients}
        assert len(names) >= 2, names  # the sessions live on several servers
        # nginx sent each polling session's requests to several servers, and every one of
        # them was answered: relayed, never "Session ID unknown".
        log = nginx.log()
        assert all(status != "400" for _, _, _, status in log), [e for e in log if e[3] == "400"]
        upstreams = collections.defaultdict(set)
        for sid, _, upstream, _ in log:
            upstreams[sid].add(upstream)
        for c in clients:
            if c.mode == "polling":
                assert len(upstreams[c.sio.eio.sid]) >= 2, (c.sio.eio.sid, upstreams[c.sio.eio.sid])
    finally:
        close_all(clients)


def test_room_broadcast_reaches_every_member_on_every_server_exactly_once(balanced):
    servers, nginx = balanced
    clients = open_all(nginx.url)
    try:
        for c in clients:
            c.call("join", "news")
        by_mode = {c.mode: c for c in clients}
        by_mode["polling"].sio.emit("to-room", {"room": "news", "event": "headline", "args": ["one", 1]})
        by_mode["websocket"].sio.emit("to-room", {"room": "news", "event": "headline", "args": ["two", 2]})
        by_mode["upgrade"].sio.emit("to-room", {"room": "news", "event": "headline", "args": ["three", 3]})
        for c in clients:
            c.rec.wait("headline", count=3, timeout=10)
        time.sleep(0.5)  # no duplicate arrives late
        for c in clients:
            got = sorted(tuple(a[:2]) for a in c.rec.of("headline"))
            assert got == [("one", 1), ("three", 3), ("two", 2)], c.mode
        assert len({c.call("server-name") for c in clients}) >= 2
    finally:
        close_all(clients)


def test_acks_cross_servers_both_ways(balanced):
    servers, nginx = balanced
    clients = open_all(nginx.url)
    try:
        for i, c in enumerate(clients):
            c.sio.on("vote", lambda *a, i=i: f"yes-{i}")
        # Client to server: every call is answered, whichever server the request reached.
        for c in clients:
            assert c.call("echo-ack", [c.mode, 7]) == [c.mode, 7]
        # Server to every client on every server, answers collected across the cluster.
        asker = clients[0]
        asker.sio.emit("ask-all", {"event": "vote", "args": [], "timeout_ms": 5000})
        result = asker.rec.wait("ask-all-result", timeout=10)[0][0]
        assert result == {"ok": True, "responses": sorted(f"yes-{i}" for i in range(len(clients)))}
    finally:
        close_all(clients)


def spread_over_every_server(url, clients, names=("s0", "s1", "s2"), per_server=2):
    """The clients' servers' names, opening more (WebSocket) until every server owns
    `per_server` sessions: round-robin places new sessions on each in turn, so a few do."""
    homes = [c.call("server-name") for c in clients]
    for _ in range(12):
        if all(homes.count(name) >= per_server for name in names):
            break
        clients.append(Client(url, "websocket"))
        homes.append(clients[-1].call("server-name"))
    assert all(homes.count(name) >= per_server for name in names), homes
    return homes


def test_fetch_sockets_and_remote_join_leave_disconnect_through_nginx_are_seen_from_every_server(balanced):
    """The cluster operations a server asks of the others, with every request of every
    session free to reach any server: each server sees every socket, makes a socket of each
    other server join and leave a room (seen from every server), and disconnects one."""
    servers, nginx = balanced
    clients = open_all(nginx.url)
    try:
        homes = spread_over_every_server(nginx.url, clients)
        first_on = {name: next(c for c, home in zip(clients, homes) if home == name) for name in sorted(set(homes))}
        ids = sorted(c.sio.get_sid("/") for c in clients)
        for name, c in first_on.items():
            assert c.call("fetch-sockets", {"room": None}) == ids, name

        for asker_name, asker in first_on.items():
            for target_name, target in first_on.items():
                if target_name == asker_name:
                    continue
                room = f"vip-{asker_name}-{target_name}"
                target_id = target.sio.get_sid("/")
                assert asker.call("make-join", {"room": target_id, "target": room}) is True
                assert target.call("rooms") == sorted([target_id, room])
                for name, c in first_on.items():
                    assert c.call("fetch-sockets", {"room": room}) == [target_id], (asker_name, target_name, name)
                assert asker.call("make-leave", {"room": room, "target": room}) is True
                assert target.call("rooms") == [target_id]
                for name, c in first_on.items():
                    assert c.call("fetch-sockets", {"room": room}) == [], (asker_name, target_name, name)

        # Each server disconnects a socket of the next one, whatever its transport (the
        # client is told the server disconnected it: python-socketio says "server disconnect").
        names = sorted(first_on)
        gone = []
        for i, asker_name in enumerate(names):
            target = next(c for c, home in zip(clients, homes)
                          if home == names[(i + 1) % len(names)] and c is not first_on[home])
            first_on[asker_name].sio.emit("disconnect-room", {"room": target.sio.get_sid("/")})
            gone.append(target)
        deadline = time.monotonic() + 10
        while any(c.sio.connected for c in gone) and time.monotonic() < deadline:
            time.sleep(0.05)
        for c in gone:
            assert not c.sio.connected and [d[:1] for d in c.drops] == [(socketio.Client.reason.SERVER_DISCONNECT,)], (c.mode, c.drops)
        left = sorted(c.sio.get_sid("/") for c in clients if c not in gone)
        for name, c in first_on.items():
            assert c.call("fetch-sockets", {"room": None}) == left, name
    finally:
        close_all(clients)


def test_without_forwarding_round_robin_breaks_polling_sessions(redis, tmp_path):
    """The control: the same cluster without a forwarder answers other servers' sessions
    "Session ID unknown", so polling clients cannot stay connected through round-robin."""
    servers, nginx = start_balanced(redis, tmp_path, forward=False)
    survivors = 0
    try:
        for _ in range(3):
            try:
                c = Client(nginx.url, "polling", wait_timeout=2)
            except Exception:
                continue
            time.sleep(1.0)
            survivors += int(c.sio.connected and not c.drops)
            c.close()
        assert survivors < 3
        assert any(status == "400" for _, _, _, status in nginx.log())
    finally:
        nginx.stop()
        for s in servers:
            s.stop()


def test_relay_rules_one_hop_only_and_a_quick_answer_when_the_owner_is_gone(redis):
    """Plain HTTP against two servers directly: a request for the other server's session is
    relayed; one already relayed is never relayed again; a dead or unknown owner gets an
    answer at once (502 / 400), which makes a client reconnect, never a hang."""
    import requests
    from sioserver import Server
    servers = [Server("canal", "--redis", redis.url, "--forward", "--heartbeat-interval", "500",
                      "--ping-interval", "400", "--ping-timeout", "2000") for _ in range(2)]
    for s in servers:
        s.start()
    try:
        a, b = (f"{s.url}/socket.io/?EIO=4&transport=polling" for s in servers)
        opened = requests.get(a, timeout=5)
        assert opened.status_code == 200 and opened.text.startswith("0{")
        import json
        sid = json.loads(opened.text[1:])["sid"]
        assert requests.post(f"{b}&sid={sid}", data="40", timeout=5).text == "ok"  # relayed to a
        polled = requests.get(f"{b}&sid={sid}", timeout=5)  # the CONNECT answer, relayed back
        assert polled.status_code == 200 and polled.text.startswith("40{"), polled.text
        once = requests.get(f"{b}&sid={sid}", headers={"X-Canal-Engine-Forwarded": "x"}, timeout=5)
        assert once.status_code == 400 and "Session ID unknown" in once.text
        node, _ = sid.split(".", 1)
        stranger = "Z" * len(node) + "." + "A" * 20
        unknown = requests.get(f"{b}&sid={stranger}", timeout=5)
        assert unknown.status_code == 400 and "Session ID unknown" in unknown.text
        servers[0].proc.kill()  # SIGKILL: its address stays in Redis until it expires
        servers[0].proc.wait(5)
        started = time.monotonic()
        dead = requests.get(f"{b}&sid={sid}", timeout=10)
        assert dead.status_code == 502 and time.monotonic() - started < 3
    finally:
        for s in servers:
            s.stop()


def test_a_polling_answer_lost_with_the_server_relaying_it_reaches_the_client_on_the_retry(redis):
    """Server b relays a long-poll GET for a's session; b stops, a answers into the relayed
    request (an event), b is killed. The client never got that answer; nginx retries the
    same GET (same URI, `t` included) on another upstream, here a itself. a keeps its last
    answer until the session's next GET, so the retry brings the event again; what a queued
    meanwhile (a ping, another event) waits for the next GET, with another `t`."""
    import json
    import signal
    import threading

    import requests
    from sioserver import Server
    servers = [Server("canal", "--redis", redis.url, "--forward", "--heartbeat-interval", "500",
                      "--ping-interval", "1000", "--ping-timeout", "5000") for _ in range(2)]
    for s in servers:
        s.start()
    a, b = servers
    try:
        base_a, base_b = (f"{s.url}/socket.io/?EIO=4&transport=polling" for s in servers)
        sid = json.loads(requests.get(base_a, timeout=5).text[1:])["sid"]
        assert requests.post(f"{base_a}&sid={sid}", data="40", timeout=5).text == "ok"
        assert requests.get(f"{base_a}&sid={sid}", timeout=5).text.startswith("40{")
        poll = f"{base_b}&sid={sid}&t=retried-by-the-proxy"
        relayed = {}

        def get_through_b():
            try:
                relayed["answer"] = requests.get(poll, timeout=10).text
            except requests.RequestException as error:
                relayed["error"] = error

        thread = threading.Thread(target=get_through_b)
        thread.start()
        time.sleep(0.5)  # b has relayed the GET; a holds it open
        b.proc.send_signal(signal.SIGSTOP)
        assert requests.post(f"{base_a}&sid={sid}", data='42["echo","in the lost answer"]', timeout=5).text == "ok"
        time.sleep(0.5)  # a has written its answer to b's connection
        b.proc.kill()
        b.proc.wait(5)
        thread.join(10)
        assert "error" in relayed, relayed  # the client never got that answer
        assert requests.post(f"{base_a}&sid={sid}", data='42["echo","after the loss"]', timeout=5).text == "ok"
        retry = requests.get(poll.replace(base_b, base_a), timeout=5)
        assert retry.status_code == 200 and "in the lost answer" in retry.text, (retry.status_code, retry.text)
        assert "after the loss" not in retry.text, retry.text
        after = requests.get(f"{base_a}&sid={sid}&t=the-next-one", timeout=5)
        assert after.status_code == 200 and "after the loss" in after.text, (after.status_code, after.text)
        assert "in the lost answer" not in after.text, after.text
    finally:
        for s in servers:
            s.stop()


def open_recovering(url, mode):
    """A client as a user of connection state recovery sets it up (see RecoveringClient),
    in the room "live", with the name of the server that owns its session."""
    from test_cluster import RecoveringClient
    sio = RecoveringClient(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=0.5,
                           randomization_factor=0)
    rec = Recorder(sio, ["/"])
    sio.connect(url, transports=MODES[mode], auth=sio.auth, wait_timeout=10)
    rec.wait("welcome", timeout=10)
    sio.call("join", "live", timeout=5)
    return mode, sio, rec, sio.call("server-name", timeout=5)


def test_a_server_killed_under_load_its_clients_come_back_through_nginx_recovered_with_every_event_once_in_order(balanced):
    servers, nginx = balanced
    clients = [open_recovering(nginx.url, mode) for mode in MODES for _ in range(3)]
    sender = None
    try:
        homes = [home for *_, home in clients]
        victim_name = max(set(homes), key=homes.count)
        victim = servers[int(victim_name[1:])]
        # The killed server owns a client of every mode: round-robin places new sessions
        # on each server in turn, so a few more are enough.
        for mode in MODES:
            for _ in range(6):
                if any(m == mode and home == victim_name for m, *_, home in clients):
                    break
                clients.append(open_recovering(nginx.url, mode))
        victims = [c for c in clients if c[3] == victim_name]
        assert {mode for mode, *_ in victims} == set(MODES), [(m, h) for m, *_, h in clients]
        # The app that broadcasts: a WebSocket session on a server that stays up (a polling
        # one could lose a request in flight through the killed server, a relay).
        for _ in range(6):
            sender = socketio.Client(reconnection=False)
            sender_drops = []
            sender.on("disconnect", lambda *a: sender_drops.append(a))
            sender.connect(nginx.url, transports=["websocket"], wait_timeout=10)
            if sender.call("server-name", timeout=5) != victim_name:
                break
            sender.disconnect()
        old_ids = {id(sio): sio.get_sid("/") for _, sio, _, _ in victims}
        time.sleep(1.5)  # the live sessions' copies reach Redis (refresh interval 500 ms)
        total = 60
        for n in range(total):
            if n == 15:
                victim.proc.kill()  # SIGKILL: the server says nothing to anyone
                victim.proc.wait(5)
            sender.emit("to-room", {"room": "live", "event": "tick", "args": [n]})
            time.sleep(0.05)
        # Its server has handled every emit before this answer (one connection, in order).
        assert sender.call("echo-ack", "done", timeout=5) == "done" and sender_drops == []
        for mode, sio, rec, home in clients:
            deadline = time.monotonic() + 20  # the last one has come (ticks arrive in order)
            while total - 1 not in [t[0] for t in rec.of("tick")]:
                assert time.monotonic() < deadline, (
                    f"{mode} client of {home} (killed {victim_name}), connected={sio.connected}, "
                    f"transport={sio.transport() if sio.connected else None}: {[t[0] for t in rec.of('tick')]}")
                time.sleep(0.05)
        time.sleep(0.5)  # nothing arrives twice, late
        for mode, sio, rec, home in clients:
            ticks = [t[0] for t in rec.of("tick")]
            assert ticks == sorted(set(ticks)), (mode, home, ticks)  # in order, none twice
            # An answer the killed server was relaying comes again on nginx's retry of the
            # same GET (test_a_polling_answer_lost_with_the_server_relaying_it_...).
            assert ticks == list(range(total)), (mode, home, sorted(set(range(total)) - set(ticks)))
        for mode, sio, rec, _ in victims:
            welcomes = rec.of("welcome")
            assert len(welcomes) >= 2, mode  # it reconnected
            assert welcomes[-1][0]["recovered"] is True and sio.get_sid("/") == old_ids[id(sio)], mode
            assert sio.call("server-name", timeout=5) != victim_name
    finally:
        for _, sio, _, _ in clients:
            if sio.connected:
                sio.disconnect()
        if sender is not None and sender.connected:
            sender.disconnect()
