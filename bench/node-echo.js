#!/usr/bin/env node
// Reference echo server for bench/run.sh, built on the `ws` library
// (Debian package node-ws, installed under /usr/share/nodejs).
//
//   node bench/node-echo.js PORT
//
// Binds 127.0.0.1:PORT, echoes every message back with the same type
// (text stays text, binary stays binary), no permessage-deflate, and
// accepts messages up to 64 MiB. Prints "listening on PORT" when ready.
'use strict';

function loadWs() {
  try {
    return require('ws');
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err;
    return require('/usr/share/nodejs/ws'); // Debian's node-ws outside NODE_PATH
  }
}

const { WebSocketServer } = loadWs();

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node node-echo.js PORT');
  process.exit(2);
}

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: false,
  maxPayload: 64 * 1024 * 1024,
  clientTracking: false,
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});

wss.on('listening', () => console.log(`listening on ${port}`));
wss.on('error', (err) => {
  console.error(`node-echo: ${err.message}`);
  process.exit(1);
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
