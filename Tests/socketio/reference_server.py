"""The Socket.IO test-server contract (CONTRACT.md) on python-socketio's AsyncServer.

Run: python reference_server.py --port 0 [options]; prints one line
`listening on http://127.0.0.1:PORT/` once it accepts connections.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sys

import socketio
from aiohttp import web

DYNAMIC = re.compile(r"^/dyn-[a-z0-9]+$")
REASONS = {
    # python-socketio's reason names -> the official server's names (see CONTRACT.md)
    "client disconnect": "client namespace disconnect",
    "server disconnect": "server namespace disconnect",
}


def parse_args(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--transports", default="polling,websocket")
    p.add_argument("--no-upgrades", action="store_true")
    p.add_argument("--ping-interval", type=int, default=25000)
    p.add_argument("--ping-timeout", type=int, default=20000)
    p.add_argument("--connect-timeout", type=int, default=45000)
    p.add_argument("--max-http-buffer-size", type=int, default=1000000)
    p.add_argument("--static", default=None)
    p.add_argument("--cors", default="*")
    p.add_argument("--client-js", default=None,
                   help="serve this file at /socket.io/socket.io.js (our browser client)")
    return p.parse_args(argv)


class ReferenceServer(socketio.AsyncServer):
    """AsyncServer plus a CONNECT timeout (python-socketio has none)."""

    connect_timeout = 45.0

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._connected_eio = set()

    async def _handle_eio_connect(self, eio_sid, environ):
        ret = await super()._handle_eio_connect(eio_sid, environ)
        if ret is not False:
            self.start_background_task(self._connect_watchdog, eio_sid)
        return ret

    async def _connect_watchdog(self, eio_sid):
        await asyncio.sleep(self.connect_timeout)
        if eio_sid not in self._connected_eio:
            try:
                await self.eio.disconnect(eio_sid)
            except Exception:
                pass

    async def _handle_connect(self, eio_sid, namespace, data):
        self._connected_eio.add(eio_sid)
        return await super()._handle_connect(eio_sid, namespace, data)

    async def _handle_eio_disconnect(self, eio_sid, *rest):
        self._connected_eio.discard(eio_sid)
        return await super()._handle_eio_disconnect(eio_sid, *rest)


def build(opts):
    sio = ReferenceServer(
        async_mode="aiohttp",
        namespaces="*",
        cors_allowed_origins=opts.cors,
        ping_interval=opts.ping_interval / 1000.0,
        ping_timeout=opts.ping_timeout / 1000.0,
        max_http_buffer_size=opts.max_http_buffer_size,
        transports=[t for t in opts.transports.split(",") if t],
        allow_upgrades=not opts.no_upgrades,
    )
    sio.connect_timeout = opts.connect_timeout / 1000.0
    last_disconnects = {}  # namespace -> list of {"id","reason"}

    def members(nsp, room):
        if nsp not in sio.manager.rooms or room not in sio.manager.rooms[nsp]:
            return []
        return sorted(sio.manager.rooms[nsp][room].keys())

    def rooms_of(sid, nsp):
        return sorted(r for r in sio.rooms(sid, namespace=nsp) if r is not None)

    async def emit(event, args, nsp, **kw):
        await sio.emit(event, tuple(args), namespace=nsp, **kw)

    async def send_welcome(sid, nsp, auth):
        # python-socketio sends the CONNECT answer after the connect handler returns;
        # wait until the socket is registered so `welcome` follows `40`.
        for _ in range(1000):
            if sio.manager.is_connected(sid, nsp):
                break
            await asyncio.sleep(0.005)
        await sio.emit("welcome", {"id": sid, "nsp": nsp, "auth": auth, "recovered": False},
                       to=sid, namespace=nsp)

    @sio.on("connect", namespace="*")
    async def on_connect(nsp, sid, environ, auth=None):
        if nsp != "/" and nsp != "/admin" and not DYNAMIC.match(nsp):
            raise socketio.exceptions.ConnectionRefusedError("Invalid namespace")
        a = auth if isinstance(auth, dict) else {}
        if nsp == "/" and a.get("token") == "reject":
            raise socketio.exceptions.ConnectionRefusedError(
                "not authorized", {"reason": "bad token", "code": 4001})
        if nsp == "/admin" and a.get("role") != "admin":
            raise socketio.exceptions.ConnectionRefusedError("admin only", {"role": a.get("role")})
        sio.start_background_task(send_welcome, sid, nsp, auth)
        return True

    @sio.on("disconnect", namespace="*")
    async def on_disconnect(nsp, sid, reason=None):
        r = REASONS.get(reason, reason)
        lst = last_disconnects.setdefault(nsp, [])
        lst.append({"id": sid, "reason": r})
        del lst[:-20]

    async def ask(sid, nsp, spec, all_=False):
        event = spec.get("event")
        args = spec.get("args", [])
        timeout = spec.get("timeout_ms", 1000) / 1000.0
        if not all_:
            try:
                res = await sio.call(event, tuple(args), to=sid, namespace=nsp, timeout=timeout)
            except socketio.exceptions.TimeoutError:
                await sio.emit("ask-result", {"ok": False, "error": "timeout"}, to=sid, namespace=nsp)
                return
            if isinstance(res, tuple):
                res = list(res)
            elif res is None:
                res = []
            else:
                res = [res]
            await sio.emit("ask-result", {"ok": True, "response": res}, to=sid, namespace=nsp)
            return
        targets = members(nsp, None)
        responses = []

        async def one(t):
            try:
                r = await sio.call(event, tuple(args), to=t, namespace=nsp, timeout=timeout)
            except socketio.exceptions.TimeoutError:
                return False
            responses.append(r[0] if isinstance(r, tuple) else r)
            return True

        results = await asyncio.gather(*(one(t) for t in targets))
        responses.sort(key=lambda v: json.dumps(v, separators=(",", ":")))
        if all(results):
            out = {"ok": True, "responses": responses}
        else:
            out = {"ok": False, "error": "timeout", "responses": responses}
        await sio.emit("ask-all-result", out, to=sid, namespace=nsp)

    async def emit_later(nsp, spec):
        await asyncio.sleep(spec.get("delay_ms", 0) / 1000.0)
        await emit(spec["event"], spec.get("args", []), nsp)

    @sio.on("*", namespace="*")
    async def on_any(event, nsp, sid, *args):
        if event in ("echo", "message"):
            await emit(event, args, nsp, to=sid)
        elif event == "echo-ack":
            return tuple(args)
        elif event == "join":
            await sio.enter_room(sid, args[0], namespace=nsp)
            return rooms_of(sid, nsp)
        elif event == "leave":
            await sio.leave_room(sid, args[0], namespace=nsp)
            return rooms_of(sid, nsp)
        elif event == "rooms":
            return rooms_of(sid, nsp)
        elif event == "to-room":
            s = args[0]
            await emit(s["event"], s.get("args", []), nsp, room=s["room"])
        elif event == "to-room-except":
            s = args[0]
            await emit(s["event"], s.get("args", []), nsp, room=s["room"],
                       skip_sid=members(nsp, s["except"]))
        elif event == "broadcast":
            s = args[0]
            await emit(s["event"], s.get("args", []), nsp)
        elif event == "broadcast-others":
            s = args[0]
            await emit(s["event"], s.get("args", []), nsp, skip_sid=sid)
        elif event == "ask":
            sio.start_background_task(ask, sid, nsp, args[0])
        elif event == "ask-all":
            sio.start_background_task(ask, sid, nsp, args[0], True)
        elif event == "fetch-sockets":
            room = (args[0] or {}).get("room") if args else None
            return members(nsp, room)
        elif event in ("make-join", "make-leave"):
            s = args[0]
            for m in members(nsp, s["room"]):
                if event == "make-join":
                    await sio.enter_room(m, s["target"], namespace=nsp)
                else:
                    await sio.leave_room(m, s["target"], namespace=nsp)
            return True
        elif event == "disconnect-room":
            for m in members(nsp, args[0]["room"]):
                await sio.disconnect(m, namespace=nsp)
        elif event == "disconnect-me":
            await sio.disconnect(sid, namespace=nsp)
        elif event == "emit-later":
            sio.start_background_task(emit_later, nsp, args[0])
        elif event == "binary-hello":
            await sio.emit("binary", {"all": bytes(range(256)), "nested": [{"b": b"\x01\x02\x03"}],
                                      "text": "ok"}, to=sid, namespace=nsp)
        elif event == "last-disconnects":
            return list(last_disconnects.get(nsp, []))
        elif event == "server-stats":
            return {"sessions": len(sio.eio.sockets)}
        # python-socketio acks every event that asks for it once a handler ran (with no
        # arguments when it returns None); the official server acks only when the handler
        # calls back. Events the contract does not ack are reported as not handled, so that
        # no ack goes out, as with the official server.
        return sio.not_handled

    app = web.Application()
    if opts.client_js:
        client_js = os.path.abspath(opts.client_js)

        async def client_script(request):
            return web.FileResponse(client_js, headers={"Content-Type": "application/javascript; charset=utf-8"})

        app.router.add_get("/socket.io/socket.io.js", client_script)
    sio.attach(app)
    if opts.static:
        root = os.path.abspath(opts.static)

        async def index(request):
            return web.FileResponse(os.path.join(root, "index.html"))

        if os.path.exists(os.path.join(root, "index.html")):
            app.router.add_get("/", index)
        app.router.add_static("/", root, show_index=True)
    return app


async def main(argv):
    opts = parse_args(argv)
    app = build(opts)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", opts.port))
    site = web.SockSite(runner, sock)
    await site.start()
    port = sock.getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
