#!/usr/bin/env node
// Echo server on Node's ws with permessage-deflate on (ws's defaults: context takeover both
// ways, window 15, memLevel 8, zlib's default level, threshold 0 here so that every message
// is compressed, as ours with --compression-threshold 0).
'use strict';
const { WebSocketServer } = (() => { try { return require('ws'); } catch { return require('/usr/share/nodejs/ws'); } })();
const port = Number(process.argv[2]);
const wss = new WebSocketServer({
  host: '127.0.0.1', port, clientTracking: false, maxPayload: 64 << 20,
  perMessageDeflate: { threshold: 0 },
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});
wss.on('listening', () => console.log(`listening on ${port}`));
