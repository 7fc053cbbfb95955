#!/usr/bin/env python3
"""The Socket.IO benchmark contract on python-socketio (the reference server).

    python bench/socketio/python_server.py --port 28500 [--stack uvicorn|aiohttp|aiohttp-uvloop|eventlet]

The contract, shared with `canal serve --bench` (see bench/socketio/README.md):

* namespace `/`, path `/socket.io/`, WebSocket transport (polling also works);
* `echo` with any arguments: emitted back to the sender as `echo` with the same arguments;
* `start-broadcast {rate, size, seconds}`: emits `tick` to every client `rate` times per second for
  `seconds` seconds. A tick's first argument is CLOCK_MONOTONIC in ns (a JSON number), taken when
  the tick is emitted; the second is a string of `size` bytes. Then `broadcast-done
  {sent, elapsed_ms, rate}` goes to every client, with the ticks really emitted, the time from
  the first tick to the last one, and the rate that was kept.

The broadcast loop schedules tick i at t0 + i / rate (absolute time), so a slow emit delays the
following ticks only until the loop has caught up; no tick is skipped and `sent` counts the
ticks emitted. If the server cannot keep up, `elapsed_ms` grows past `seconds`.

It prints `listening on http://127.0.0.1:PORT/socket.io/ (STACK)` once the port accepts.
"""

import argparse
import math
import sys
import time

STACKS = ("uvicorn", "aiohttp", "aiohttp-uvloop", "eventlet")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stack", choices=STACKS, default="uvicorn",
                        help="web server under python-socketio (default: uvicorn, the fastest here)")
    parser.add_argument("--json", choices=("stdlib", "ujson"), default="stdlib",
                        help="JSON module for packets (default: the standard library)")
    parser.add_argument("--ws", choices=("websockets-sansio", "websockets", "wsproto"), default="websockets-sansio",
                        help="uvicorn's WebSocket implementation (default: websockets-sansio)")
    parser.add_argument("--handlers", choices=("inline", "task"), default="inline",
                        help="run event handlers inline in the reader (python-socketio async_handlers=False, "
                             "the default here) or each in its own task (async_handlers=True, the library default)")
    return parser.parse_args()


def json_module(name):
    if name == "stdlib":
        return None
    import ujson

    class UJSON:
        """ujson behind the stdlib signature python-socketio calls (separators=...)."""

        @staticmethod
        def dumps(obj, **_kwargs):
            return ujson.dumps(obj, ensure_ascii=False, escape_forward_slashes=False)

        loads = staticmethod(ujson.loads)

    return UJSON


def check_broadcast_request(data):
    """Returns (rate, size, count) from a start-broadcast argument, or None if it is malformed."""
    if not isinstance(data, dict):
        return None
    try:
        rate = float(data["rate"])
        size = int(data["size"])
        seconds = float(data["seconds"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (rate > 0 and math.isfinite(rate) and 0 <= size <= 16 * 1024 * 1024 and 0 < seconds <= 3600):
        return None
    return rate, size, max(1, round(rate * seconds))


def done_report(sent, first_ns, last_ns):
    elapsed_ms = (last_ns - first_ns) / 1e6
    # n ticks span n - 1 intervals
    rate = (sent - 1) / (elapsed_ms / 1000) if sent > 1 and elapsed_ms > 0 else float(sent)
    return {"sent": sent, "elapsed_ms": round(elapsed_ms, 3), "rate": round(rate, 3)}


def log(message):
    print(f"python_server: {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ asyncio stacks

def make_async_server(json_mod, async_handlers):
    import asyncio

    import socketio

    async_mode = "asgi" if STACK == "uvicorn" else "aiohttp"
    sio = socketio.AsyncServer(async_mode=async_mode, json=json_mod, cors_allowed_origins="*",
                               async_handlers=async_handlers, logger=False, engineio_logger=False)

    @sio.on("echo")
    async def echo(sid, *args):
        await sio.emit("echo", args, to=sid)

    async def broadcast(rate, size, count):
        padding = "x" * size
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        first_ns = last_ns = time.monotonic_ns()
        sent = 0
        for i in range(count):
            delay = t0 + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            last_ns = time.monotonic_ns()
            if i == 0:
                first_ns = last_ns
            await sio.emit("tick", (last_ns, padding))
            sent += 1
        report = done_report(sent, first_ns, last_ns)
        log(f"broadcast done: {report}")
        await sio.emit("broadcast-done", report)

    @sio.on("start-broadcast")
    async def start_broadcast(sid, data=None):
        request = check_broadcast_request(data)
        if request is None:
            log(f"ignored start-broadcast {data!r}")
            return
        log(f"start-broadcast rate={request[0]} size={request[1]} ticks={request[2]} to "
            f"{len(sio.manager.rooms.get('/', {}).get(None, {}))} clients")
        sio.start_background_task(broadcast, *request)

    return sio


def run_uvicorn(args, sio):
    import socketio
    import uvicorn

    app = socketio.ASGIApp(sio, socketio_path="socket.io")
    config = uvicorn.Config(app, host=args.host, port=args.port, loop="uvloop", http="httptools",
                            ws=args.ws, ws_ping_interval=None, ws_per_message_deflate=False,
                            lifespan="off", log_level="warning", access_log=False, backlog=4096)
    server = uvicorn.Server(config)

    import asyncio

    async def main():
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started:
            announce(args)
        await serving

    import uvloop
    uvloop.run(main())


def run_aiohttp(args, sio, use_uvloop):
    import asyncio

    from aiohttp import web

    app = web.Application()
    sio.attach(app, socketio_path="socket.io")

    async def main():
        runner = web.AppRunner(app, access_log=None, handle_signals=True)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port, backlog=4096)
        await site.start()
        announce(args)
        await asyncio.Event().wait()

    if use_uvloop:
        import uvloop
        uvloop.run(main())
    else:
        asyncio.run(main())


# ------------------------------------------------------------------ eventlet

def run_eventlet(args, json_mod, async_handlers):
    import eventlet
    eventlet.monkey_patch()
    import eventlet.wsgi
    import socketio

    sio = socketio.Server(async_mode="eventlet", json=json_mod, cors_allowed_origins="*",
                          async_handlers=async_handlers, logger=False, engineio_logger=False)

    @sio.on("echo")
    def echo(sid, *args):
        sio.emit("echo", args, to=sid)

    def broadcast(rate, size, count):
        padding = "x" * size
        t0 = time.monotonic()
        first_ns = last_ns = time.monotonic_ns()
        sent = 0
        for i in range(count):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                sio.sleep(delay)
            last_ns = time.monotonic_ns()
            if i == 0:
                first_ns = last_ns
            sio.emit("tick", (last_ns, padding))
            sent += 1
        report = done_report(sent, first_ns, last_ns)
        log(f"broadcast done: {report}")
        sio.emit("broadcast-done", report)

    @sio.on("start-broadcast")
    def start_broadcast(sid, data=None):
        request = check_broadcast_request(data)
        if request is None:
            log(f"ignored start-broadcast {data!r}")
            return
        sio.start_background_task(broadcast, *request)

    app = socketio.WSGIApp(sio, socketio_path="socket.io")
    listener = eventlet.listen((args.host, args.port), backlog=4096)
    announce(args)
    eventlet.wsgi.server(listener, app, log_output=False, max_size=100000)


def announce(args):
    print(f"listening on http://{args.host}:{args.port}/socket.io/ ({STACK})", flush=True)


def main():
    global STACK
    args = parse_args()
    STACK = args.stack
    json_mod = json_module(args.json)
    async_handlers = args.handlers == "task"
    if STACK == "eventlet":
        run_eventlet(args, json_mod, async_handlers)
        return
    sio = make_async_server(json_mod, async_handlers)
    try:
        if STACK == "uvicorn":
            run_uvicorn(args, sio)
        else:
            run_aiohttp(args, sio, use_uvloop=(STACK == "aiohttp-uvloop"))
    except KeyboardInterrupt:
        pass


STACK = "uvicorn"

if __name__ == "__main__":
    main()
