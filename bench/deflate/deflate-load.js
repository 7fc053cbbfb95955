#!/usr/bin/env node
// Load for permessage-deflate servers, with Node's ws as the client (it offers
// permessage-deflate with client_max_window_bits, as browsers do).
//
//   node deflate-load.js memory PORT SERVER_PID CONNS   -> RSS growth per connection after each
//                                                         connection exchanged one 4 KB text message
//   node deflate-load.js rate PORT SERVER_PID CONNS SECONDS -> echo round trips of 4 KB text per second,
//                                                         and the server's CPU time per message
'use strict';
const fs = require('fs');
const WebSocket = (() => { try { return require('ws'); } catch { return require('/usr/share/nodejs/ws'); } })();
const [mode, port, pid, connsArg, secondsArg] = process.argv.slice(2);
const conns = Number(connsArg);
const url = `ws://127.0.0.1:${port}/`;
// 4 KB of JSON-like text: compressible, as real-time app traffic is.
const text = Array.from({ length: 200 }, (_, i) => `{"id":${i},"symbol":"CNL","price":${(42 + i / 100).toFixed(2)}}`).join(',').slice(0, 4096);

function rssKiB() {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}
function cpuSeconds() {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}
// The server's Sec-WebSocket-Extensions answer (ws.extensions names the extension only).
let answered = '';
function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0 } });
    ws.on('upgrade', (response) => { answered = response.headers['sec-websocket-extensions'] || ''; });
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}
function exchange(ws) {
  return new Promise((resolve) => { ws.once('message', () => resolve()); ws.send(text); });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function memory() {
  await sleep(500);
  const before = rssKiB();
  const sockets = [];
  for (let i = 0; i < conns; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, conns - i) }, open));
    await Promise.all(batch.map(exchange));
    sockets.push(...batch);
  }
  await sleep(1000);
  const after = rssKiB();
  console.log(`RESULT memory conns=${conns} rss_before_kib=${before} rss_after_kib=${after} per_conn_kib=${((after - before) / conns).toFixed(1)} extensions="${answered}"`);
  for (const ws of sockets) ws.terminate();
}

async function rate() {
  const seconds = Number(secondsArg);
  const sockets = await Promise.all(Array.from({ length: conns }, open));
  let count = 0;
  let running = true;
  const loops = sockets.map(async (ws) => { while (running) { await exchange(ws); count += 1; } });
  await sleep(1000); // warm-up
  const startCount = count, startCpu = cpuSeconds(), start = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const n = count - startCount, cpu = cpuSeconds() - startCpu;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  running = false;
  await Promise.all(loops.map((p) => Promise.race([p, sleep(2000)])));
  console.log(`RESULT rate conns=${conns} msgs_per_s=${(n / elapsed).toFixed(0)} server_cpu_us_per_msg=${(cpu * 1e6 / n).toFixed(1)} extensions="${answered}"`);
  for (const ws of sockets) ws.terminate();
}

(mode === 'memory' ? memory() : rate()).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
