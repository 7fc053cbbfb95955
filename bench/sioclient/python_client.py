#!/usr/bin/env python3
"""The python-socketio side of bench/sioclient: the same two measurements as
`canal-sio-testclient bench`, with python-socketio's AsyncClient (aiohttp, WebSocket only).

    python bench/sioclient/python_client.py echo URL --events N --window W --size S
    python bench/sioclient/python_client.py ticks URL --rate R --seconds T --size S

Prints one JSON line: {"mode","received","seconds","events_per_second", ...}.
"""
import argparse
import asyncio
import json
import time

import socketio


async def echo(client, events, window, size):
    payload = "x" * size
    state = {"sent": 0, "received": 0}
    done = asyncio.Event()

    async def send_one():
        if state["sent"] < events:
            state["sent"] += 1
            await client.emit("echo", (state["sent"], payload))

    @client.on("echo")
    async def on_echo(*_):
        state["received"] += 1
        if state["received"] == events:
            done.set()
        else:
            await send_one()

    start = time.monotonic()
    for _ in range(window):
        await send_one()
    await done.wait()
    seconds = time.monotonic() - start
    return {"mode": "echo", "received": state["received"], "seconds": seconds,
            "events_per_second": state["received"] / seconds}


async def ticks(client, rate, seconds, size):
    state = {"received": 0, "first": None, "last": None}
    done = asyncio.Event()
    summary = {}

    @client.on("tick")
    async def on_tick(*_):
        now = time.monotonic()
        state["received"] += 1
        if state["first"] is None:
            state["first"] = now
        state["last"] = now

    @client.on("broadcast-done")
    async def on_done(value):
        summary.update(value)
        done.set()

    await client.emit("start-broadcast", {"rate": rate, "size": size, "seconds": seconds})
    await done.wait()
    await asyncio.sleep(0.2)
    span = (state["last"] - state["first"]) if state["first"] is not None else 0
    return {"mode": "ticks", "received": state["received"], "sent": summary.get("sent", 0), "seconds": span,
            "events_per_second": state["received"] / span if span else 0}


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("echo", "ticks"))
    parser.add_argument("url")
    parser.add_argument("--events", type=int, default=100000)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(args.url, transports=["websocket"], wait_timeout=10)
    try:
        if args.mode == "echo":
            result = await echo(client, args.events, args.window, args.size)
        else:
            result = await ticks(client, args.rate, args.seconds, args.size)
    finally:
        await client.disconnect()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
