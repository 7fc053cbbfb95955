// The monitoring dashboard: the same readings over polling, long polling, server-sent
// events and WebSocket, with what each costs. No libraries; works offline.
"use strict";

const params = new URLSearchParams(location.search);
const pollEvery = Math.max(100, Number(params.get("poll")) || 1000);
const chartLength = 60;

// One panel per technique: what the page saw, and what the server counted.
const panels = {};
for (const section of document.querySelectorAll(".technique")) {
  section.append(document.getElementById("figures").content.cloneNode(true));
  panels[section.id] = {
    section,
    requests: 0,
    received: 0,
    lastSeq: 0,
    delays: [],
    field: (name) => section.querySelector("." + name),
  };
}
document.getElementById("poll-interval").textContent = String(pollEvery / 1000);
document.querySelector("#poll .every").textContent = String(pollEvery / 1000);

let running = false;
let lastSSESeq = 0;
const live = { pollTimer: null, longPoll: null, source: null, socket: null, statsTimer: null };

function setState(text, state) {
  document.getElementById("state").textContent = text;
  document.body.dataset.state = state;
}

// A reading reached the page through `id`.
function receive(id, reading) {
  const panel = panels[id];
  if (reading.seq <= panel.lastSeq) return;  // not new: polling asked too early
  panel.lastSeq = reading.seq;
  panel.received += 1;
  const delay = Math.max(0, Date.now() - reading.t);
  panel.delays.push(delay);
  if (panel.delays.length > chartLength) panel.delays.shift();
  panel.field("celsius").textContent = reading.celsius.toFixed(1) + " \u00B0C";
  const alarm = panel.field("alarm");
  alarm.textContent = reading.alarm ? "ALARM" : "alarm off";
  alarm.classList.toggle("on", reading.alarm);
  panel.field("machine").textContent = reading.state;
  panel.field("delay").textContent = String(delay);
  const average = panel.delays.reduce((sum, value) => sum + value, 0) / panel.delays.length;
  panel.field("average").textContent = String(Math.round(average));
  panel.field("received").textContent = String(panel.received);
  drawChart(panel);
}

function countRequest(id) {
  panels[id].requests += 1;
  panels[id].field("requests").textContent = String(panels[id].requests);
}

function drawChart(panel) {
  const canvas = panel.field("chart");
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const top = Math.max(100, ...panel.delays);
  context.fillStyle = "#5b6b7c";
  context.font = "10px sans-serif";
  context.fillText(top + " ms", 4, 10);
  context.strokeStyle = "#1f7a99";
  context.lineWidth = 1.5;
  context.beginPath();
  panel.delays.forEach((delay, index) => {
    const x = (index / (chartLength - 1)) * (width - 2) + 1;
    const y = height - 2 - (delay / top) * (height - 14);
    if (index === 0) context.moveTo(x, y); else context.lineTo(x, y);
  });
  context.stroke();
}

// AJAX polling: ask every `pollEvery` ms; a request in flight when paused completes.
function startPolling() {
  const ask = () => {
    countRequest("poll");
    fetch("/dashboard/poll?after=" + panels.poll.lastSeq, { cache: "no-store" })
      .then((response) => (response.status === 200 ? response.json() : null))
      .then((reading) => { if (reading) receive("poll", reading); })
      .catch(() => {});
  };
  ask();
  live.pollTimer = setInterval(ask, pollEvery);
}

// Long polling: one request at a time, sent again as soon as the last one answers.
function startLongPolling() {
  const controller = new AbortController();
  live.longPoll = controller;
  const ask = () => {
    if (controller.signal.aborted) return;
    countRequest("long-poll");
    fetch("/dashboard/long-poll?after=" + panels["long-poll"].lastSeq, { cache: "no-store", signal: controller.signal })
      .then((response) => (response.status === 200 ? response.json() : null))
      .then((reading) => { if (reading) receive("long-poll", reading); ask(); })
      .catch(() => { if (!controller.signal.aborted) setTimeout(ask, 1000); });
  };
  ask();
}

// Server-sent events: the browser reconnects by itself, sending Last-Event-ID.
function startEventSource() {
  const source = new EventSource("/dashboard/events");
  live.source = source;
  source.addEventListener("open", () => countRequest("events"));
  source.addEventListener("reading", (event) => {
    const reading = JSON.parse(event.data);
    lastSSESeq = reading.seq;
    receive("events", reading);
  });
}

// WebSocket: one connection, opened again a second after it drops.
function startWebSocket() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  countRequest("ws");
  const socket = new WebSocket(scheme + location.host + "/dashboard/ws");
  live.socket = socket;
  socket.onmessage = (message) => receive("ws", JSON.parse(message.data));
  socket.onclose = () => {
    if (running && live.socket === socket) setTimeout(() => { if (running) startWebSocket(); }, 1000);
  };
}

async function refreshStats() {
  let stats;
  try {
    const response = await fetch("/dashboard/stats", { cache: "no-store" });
    stats = await response.json();
  } catch (error) {
    return;
  }
  for (const [id, panel] of Object.entries(panels)) {
    const counted = stats[id];
    if (!counted) continue;
    const bytes = counted.bytesSent + counted.bytesReceived;
    panel.field("server-requests").textContent = String(counted.requests);
    panel.field("server-bytes").textContent = counted.bytesSent + " sent, " + counted.bytesReceived + " received";
    panel.field("bytes-per-update").textContent = counted.updates > 0 ? String(Math.round(bytes / counted.updates)) : "--";
    panel.section.dataset.serverUpdates = String(counted.updates);
  }
  return stats;
}

function start() {
  running = true;
  startPolling();
  startLongPolling();
  startEventSource();
  startWebSocket();
  live.statsTimer = setInterval(refreshStats, 1000);
  document.getElementById("pause").textContent = "Pause";
  setState("Receiving", "running");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Stops every technique just after a reading, so that none is caught mid-delivery, then
// shows the server's final counts.
async function pause() {
  setState("Pausing...", "pausing");
  const seen = lastSSESeq;
  for (let waited = 0; lastSSESeq === seen && waited < 3000; waited += 20) await sleep(20);
  await sleep(150);
  running = false;
  clearInterval(live.pollTimer);
  clearInterval(live.statsTimer);
  live.longPoll.abort();
  live.source.close();
  const socket = live.socket;
  live.socket = null;
  socket.close(1000);
  await sleep(700);
  await refreshStats();
  setState("Paused: the figures are final", "paused");
  document.getElementById("pause").textContent = "Resume";
}

document.getElementById("pause").addEventListener("click", () => {
  if (document.body.dataset.state === "running") pause();
  else if (document.body.dataset.state === "paused") start();
});

// For tests and the curious: what this page counted.
window.dashboard = {
  counts: () => Object.fromEntries(Object.entries(panels).map(([id, panel]) =>
    [id, { requests: panel.requests, received: panel.received, lastSeq: panel.lastSeq, delays: panel.delays.slice() }])),
  refreshStats,
};

start();
