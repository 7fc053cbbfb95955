#!/usr/bin/env python3
"""A Socket.IO server that misbehaves on purpose, for the browser client's bad-input checks.

    bad_server.py --port 0 --client-js Clients/js/socket.io.js

It serves /bad.html (the check page), our client at /socket.io/socket.io.js, and at
/socket.io/ an Engine.IO endpoint whose behaviour the client picks with the query
parameter `mode`:

  malformed-socketio  WebSocket; answers the CONNECT, then sends `42["broken`
  malformed-engineio  WebSocket; sends the open packet, then a packet of unknown type `x`
  bad-handshake       polling; the open packet is not JSON
  silent              WebSocket; sends the open packet and never answers the CONNECT
  drop-mid-upgrade    polling with an upgrade offered; answers the CONNECT over polling,
                      then drops the probing WebSocket and the polling requests at once

It prints `listening on http://127.0.0.1:PORT/` once it accepts connections.
"""
import argparse
import asyncio
import json
import socket
import sys

from aiohttp import WSMsgType, web

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>bad server</title>
<script src="/socket.io/socket.io.js"></script></head>
<body><script>
window.pageErrors = [];
window.addEventListener("error", (e) => window.pageErrors.push(String(e.message || e.error)));
window.addEventListener("unhandledrejection", (e) => window.pageErrors.push(String(e.reason)));
window.runBad = (mode, transports) => new Promise((resolve) => {
  const seen = [];
  const socket = io("/", { query: { mode }, transports, timeout: 1500, reconnection: false });
  socket.on("connect", () => seen.push(["connect"]));
  socket.on("connect_error", (e) => { seen.push(["connect_error", e.message]); finish(); });
  socket.on("disconnect", (reason) => { seen.push(["disconnect", reason]); finish(); });
  let done = false;
  function finish() {
    if (done) return;
    done = true;
    setTimeout(() => { socket.close(); resolve({ seen, pageErrors: window.pageErrors }); }, 300);
  }
  setTimeout(() => { seen.push(["gave up"]); finish(); }, 8000);
});
</script></body></html>
"""


class Session:
    def __init__(self):
        self.queue = asyncio.Queue()
        self.dropped = asyncio.Event()


SESSIONS: dict[str, Session] = {}
OPEN = {"sid": "", "upgrades": [], "pingInterval": 25000, "pingTimeout": 20000, "maxPayload": 1000000}


def open_packet(sid, upgrades=()):
    return "0" + json.dumps({**OPEN, "sid": sid, "upgrades": list(upgrades)})


async def websocket(request, mode):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    sid = request.query.get("sid")
    if mode == "drop-mid-upgrade" and sid in SESSIONS:
        await ws.receive(timeout=5)  # 2probe
        SESSIONS[sid].dropped.set()
        request.transport.abort()
        return ws
    await ws.send_str(open_packet("bad-" + mode))
    if mode == "malformed-engineio":
        await ws.send_str("x7")
    async for message in ws:
        if message.type != WSMsgType.TEXT:
            break
        if message.data.startswith("40"):
            if mode == "malformed-socketio":
                await ws.send_str('40{"sid":"s1"}')
                await ws.send_str('42["broken')
            # silent: no answer at all
    return ws


async def polling(request, mode):
    sid = request.query.get("sid")
    if sid is None:
        if mode == "bad-handshake":
            return web.Response(text='0{"sid": not json')
        sid = "poll-%d" % len(SESSIONS)
        SESSIONS[sid] = Session()
        return web.Response(text=open_packet(sid, ["websocket"]))
    session = SESSIONS.get(sid)
    if session is None:
        return web.json_response({"code": 1, "message": "Session ID unknown"}, status=400)
    if request.method == "POST":
        body = await request.text()
        for packet in body.split("\x1e"):
            if packet.startswith("40"):
                await session.queue.put('40{"sid":"s2"}')
        return web.Response(text="ok")
    # A GET: what is queued, or wait; once the probe is dropped, drop the polls too.
    getter = asyncio.ensure_future(session.queue.get())
    dropped = asyncio.ensure_future(session.dropped.wait())
    done, pending = await asyncio.wait({getter, dropped}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if getter in done:
        return web.Response(text=getter.result())
    request.transport.abort()
    return web.Response(status=500)


async def engine(request):
    mode = request.query.get("mode", "")
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await websocket(request, mode)
    if SESSIONS.get(request.query.get("sid", "")) and SESSIONS[request.query["sid"]].dropped.is_set():
        request.transport.abort()
        return web.Response(status=500)
    return await polling(request, mode)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--client-js", required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_get("/bad.html", lambda _: web.Response(text=PAGE, content_type="text/html"))

    async def client(_):
        return web.FileResponse(args.client_js, headers={"Content-Type": "application/javascript"})

    app.router.add_get("/socket.io/socket.io.js", client)
    app.router.add_route("*", "/socket.io/", engine)

    async def run():
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", args.port))
        site = web.SockSite(runner, sock)
        await site.start()
        print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}/", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
