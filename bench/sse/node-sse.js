// Server-sent events served by hand with Node's own `http` module (no library): the
// reference of bench/sse/run.sh. GET /feed subscribes; RATE events per second go to
// every subscriber, each written once as a string and then to every response.
//
//   node bench/sse/node-sse.js PORT RATE PAYLOAD
"use strict";
const http = require("http");

const port = Number(process.argv[2] || 28500);
const rate = Number(process.argv[3] || 100);
const payload = Number(process.argv[4] || 64);
const subscribers = new Set();

const server = http.createServer((request, response) => {
  if (request.url !== "/feed") {
    response.writeHead(404, { "Content-Type": "text/plain" });
    response.end("Not Found\n");
    return;
  }
  response.writeHead(200, {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-store",
  });
  response.flushHeaders();
  subscribers.add(response);
  request.on("close", () => subscribers.delete(response));
});
server.keepAliveTimeout = 0;
server.requestTimeout = 0;

// Ticks of 10 ms publish what the rate says is due, as the Swift server does.
let sent = 0;
const started = process.hrtime.bigint();
setInterval(() => {
  const now = process.hrtime.bigint();
  const due = Number((BigInt(rate) * (now - started)) / 1000000000n);
  for (; sent < due; sent++) {
    let data = now.toString();
    if (data.length + 1 < payload) data += " " + "x".repeat(payload - data.length - 1);
    const event = "id: " + (sent + 1) + "\ndata: " + data + "\n\n";
    for (const response of subscribers) response.write(event);
  }
}, 10);

server.listen(port, "127.0.0.1", () => {
  console.log(`node SSE server listening on http://127.0.0.1:${port}/`);
});
