"""A scripted Engine.IO / Socket.IO server that misbehaves on purpose, on aiohttp.

    server = FakeServer("silent").start()      # server.url, server.stop()

Scenarios (what happens after the Engine.IO handshake, on either transport):

- ``echo``: behaves: answers CONNECT with a sid, echoes every event back.
- ``silent``: never answers the Socket.IO CONNECT.
- ``malformed-connect``: answers CONNECT with a packet that is not Socket.IO (``2["oops``).
- ``malformed-event``: answers CONNECT, then sends an unknown packet type (``9``) 200 ms later.
- ``not-engineio``: answers the handshake with ``hello`` instead of an ``open`` packet.
- ``drop-upgrade``: offers the upgrade; when the probe WebSocket arrives, drops it and every
  other connection of the session without a word, and refuses what follows.
- ``bad-probe``: answers the probe ``2probe`` with ``3nope``; polling goes on (and echoes).
"""
from __future__ import annotations

import asyncio
import json
import threading

from aiohttp import WSMsgType, web

SEP = "\x1e"


class Session:
    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.polls: list[web.Request] = []


class FakeServer:
    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.sessions: dict[str, Session] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.dropped = False
        self.received: list[str] = []
        # (method, transport, the request's headers) of every request.
        self.requests: list[tuple[str, str, dict]] = []
        self.sockets: set[web.WebSocketResponse] = set()
        self.port = 0
        self.runner = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> "FakeServer":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/socket.io/", self._handle)
        self.runner = web.AppRunner(app, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        async def stop():
            # Release what is held (long-polls, WebSockets) so that the runner stops at once.
            for session in self.sessions.values():
                session.queue.put_nowait("1")
            for ws in list(self.sockets):
                await ws.close()
            await self.runner.cleanup()
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    # -- Engine.IO ----------------------------------------------------------------------

    def _open_packet(self, sid: str, transport: str) -> str:
        upgrades = ["websocket"] if transport == "polling" and self.scenario in ("drop-upgrade", "bad-probe") else []
        return "0" + json.dumps({"sid": sid, "upgrades": upgrades, "pingInterval": 10000, "pingTimeout": 5000,
                                 "maxPayload": 1000000})

    def _new_session(self) -> Session:
        session = Session(f"fake{len(self.sessions) + 1}")
        self.sessions[session.sid] = session
        return session

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.dropped:
            request.transport.abort()
            return web.Response(status=500)
        sid = request.query.get("sid")
        self.requests.append((request.method, request.query.get("transport", ""), dict(request.headers)))
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, self.sessions.get(sid) if sid else None)
        if sid is None:
            session = self._new_session()
            if self.scenario == "not-engineio":
                return web.Response(text="hello")
            return web.Response(text=self._open_packet(session.sid, "polling"))
        session = self.sessions.get(sid)
        if session is None:
            return web.json_response({"code": 1, "message": "Session ID unknown"}, status=400)
        if request.method == "POST":
            body = await request.text()
            for packet in body.split(SEP):
                await self._packet(session, packet)
            return web.Response(text="ok")
        session.polls.append(request)
        try:
            first = await session.queue.get()
        except asyncio.CancelledError:
            raise
        packets = [first]
        while not session.queue.empty():
            packets.append(session.queue.get_nowait())
        return web.Response(text=SEP.join(packets))

    async def _packet(self, session: Session, packet: str) -> None:
        self.received.append(packet)
        if packet.startswith("40"):
            if self.scenario == "silent":
                return
            if self.scenario == "malformed-connect":
                await session.queue.put('42["oops')
                return
            # `40/admin,{...}` is answered on /admin.
            namespace = packet[2:].split(",", 1)[0] + "," if packet[2:3] == "/" else ""
            await session.queue.put('40' + namespace + '{"sid":"fake-socket"}')
            if self.scenario == "malformed-event":
                async def later():
                    await asyncio.sleep(0.2)
                    await session.queue.put("49")
                asyncio.ensure_future(later())
        elif packet.startswith("42") and self.scenario in ("echo", "bad-probe"):
            await session.queue.put(packet)

    async def _websocket(self, request: web.Request, session: Session | None) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.add(ws)
        if session is not None:
            # The upgrade probe of a polling session.
            if self.scenario == "drop-upgrade":
                self.dropped = True
                request.transport.abort()
                for poll in session.polls:
                    if poll.transport is not None:
                        poll.transport.abort()
                return ws
            async for message in ws:
                if message.type == WSMsgType.TEXT and message.data == "2probe":
                    await ws.send_str("3nope" if self.scenario == "bad-probe" else "3probe")
            return ws
        session = self._new_session()
        await ws.send_str(self._open_packet(session.sid, "websocket"))

        async def pump():
            while True:
                await ws.send_str(await session.queue.get())

        sender = asyncio.ensure_future(pump())
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._packet(session, message.data)
        finally:
            sender.cancel()
        return ws
