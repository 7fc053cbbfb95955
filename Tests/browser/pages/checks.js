// The checks the browser suite runs with our Socket.IO client. Each check returns what it
// observed (plain JSON); the Python side asserts on it. The page's transport mode comes
// from its query string: ?mode=polling, ?mode=websocket or ?mode=upgrade (polling first).
"use strict";

const params = new URLSearchParams(location.search);
const MODE = params.get("mode") || "upgrade";
const TRANSPORTS = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[MODE];
const ORIGIN = location.origin;

let created = [];

function options(extra) {
  return Object.assign({ forceNew: true, transports: TRANSPORTS, reconnection: false, timeout: 5000 }, extra || {});
}

function open(nsp, extra) {
  const socket = io(ORIGIN + (nsp || "/"), options(extra));
  created.push(socket);
  return socket;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Resolves with the event's arguments, or rejects after ms.
function waitFor(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error("no " + event + " within " + ms + " ms"));
    }, ms);
    const handler = (...args) => {
      clearTimeout(timer);
      emitter.off(event, handler);
      resolve(args);
    };
    emitter.on(event, handler);
  });
}

async function until(predicate, ms = 5000, what = "condition") {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (predicate()) return;
    await sleep(20);
  }
  throw new Error("timed out waiting for " + what);
}

function collect(emitter, event) {
  const list = [];
  emitter.on(event, (...args) => list.push(args));
  return list;
}

function hex(data) {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// JSON-safe picture of a value: binary becomes {"$binary": type, "hex": ...}.
function describe(value) {
  if (value instanceof ArrayBuffer) return { $binary: "ArrayBuffer", hex: hex(value) };
  if (ArrayBuffer.isView(value)) return { $binary: value.constructor.name, hex: hex(value) };
  if (typeof Blob === "function" && value instanceof Blob) return { $binary: "Blob" };
  if (typeof value === "function") return { $function: true };
  if (Array.isArray(value)) return value.map(describe);
  if (value && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value)) out[key] = describe(value[key]);
    return out;
  }
  return value === undefined ? { $undefined: true } : value;
}

function errorInfo(error) {
  if (!error) return null;
  return { message: error.message, data: error.data === undefined ? null : error.data };
}

async function connected(socket, ms = 5000) {
  if (!socket.connected) await waitFor(socket, "connect", ms);
  if (MODE === "upgrade" && socket.io.engine.transport.name !== "websocket") {
    await waitFor(socket.io.engine, "upgrade", ms);
  }
  return socket;
}

const checks = {};

checks.connect = async () => {
  const socket = open("/");
  const welcome = waitFor(socket, "welcome");
  const before = { connected: socket.connected, disconnected: socket.disconnected, active: socket.active };
  await connected(socket);
  const [hello] = await welcome;
  return {
    before,
    id: socket.id,
    connected: socket.connected,
    disconnected: socket.disconnected,
    active: socket.active,
    recovered: socket.recovered,
    transport: socket.io.engine.transport.name,
    engineId: socket.io.engine.id,
    welcome: hello,
  };
};

checks.json = async () => {
  const socket = await connected(open("/"));
  const values = [1, "two", { three: [3, 3.5, null, true, false] }, "ünïcødé ✓ 😀", [], {}, ""];
  const echo = waitFor(socket, "echo");
  socket.emit("echo", ...values);
  const [echoed] = [await echo];
  const message = waitFor(socket, "message");
  socket.send("plain message");
  const sent = await message;
  // Many small events keep their order.
  const many = collect(socket, "echo");
  for (let i = 0; i < 50; i++) socket.emit("echo", i);
  await until(() => many.length === 50, 5000, "50 echoes");
  return { echoed, message: sent, order: many.map((args) => args[0]) };
};

checks.binary = async () => {
  const socket = await connected(open("/"));
  const all = new Uint8Array(256).map((_, i) => i);
  const echoes = collect(socket, "echo");
  socket.emit("echo", all.buffer); // ArrayBuffer
  socket.emit("echo", new Uint8Array([1, 2, 3]));
  socket.emit("echo", new Uint8Array(all.buffer, 10, 4)); // a view with an offset
  socket.emit("echo", new Blob([new Uint8Array([0xca, 0xfe])]), "after blob");
  socket.emit("echo", "json right after the blob");
  socket.emit("echo", { nested: [{ deep: new Uint16Array([0x0102]) }, "text"], plain: 1 });
  await until(() => echoes.length === 6, 5000, "six echoes");
  const hello = waitFor(socket, "binary");
  socket.emit("binary-hello");
  const [payload] = await hello;
  return { echoes: echoes.map(describe), hello: describe(payload) };
};

checks.acks = async () => {
  const socket = await connected(open("/"));
  const result = {};
  result.withAck = await new Promise((resolve) => socket.emit("echo-ack", 1, { two: 2 }, (...args) => resolve(args)));
  result.emitWithAck = await socket.emitWithAck("echo-ack", "promised");
  result.timeoutOk = await new Promise((resolve) =>
    socket.timeout(3000).emit("echo-ack", "in time", (error, ...args) => resolve({ error: errorInfo(error), args }))
  );
  // The server does not acknowledge an event it has no handler for.
  const started = Date.now();
  result.timeoutFails = await new Promise((resolve) =>
    socket.timeout(300).emit("nobody-acks-this", 1, (error, ...args) => resolve({ error: errorInfo(error), args }))
  );
  result.timeoutElapsed = Date.now() - started;
  result.rejected = await socket
    .timeout(200)
    .emitWithAck("nobody-acks-this")
    .then(() => "resolved", (error) => error.message);
  result.binaryAck = describe(await socket.emitWithAck("echo-ack", new Uint8Array([7, 8])));
  // The server asks us, with an ack; we answer.
  socket.on("question", (a, b, callback) => callback("answer to " + a, b * 2));
  let asked = waitFor(socket, "ask-result");
  socket.emit("ask", { event: "question", args: ["life", 21], timeout_ms: 2000 });
  result.askAnswered = (await asked)[0];
  // ... and we do not answer.
  socket.on("ignored-question", () => {});
  asked = waitFor(socket, "ask-result");
  socket.emit("ask", { event: "ignored-question", args: [], timeout_ms: 300 });
  result.askIgnored = (await asked)[0];
  return result;
};

checks.retries = async () => {
  const socket = await connected(open("/", { retries: 2, ackTimeout: 250 }));
  const outgoing = [];
  socket.onAnyOutgoing((event, ...args) => outgoing.push(event));
  const ok = await new Promise((resolve) =>
    socket.emit("echo-ack", "retried", (error, ...args) => resolve({ error: errorInfo(error), args }))
  );
  const failed = await new Promise((resolve) =>
    socket.emit("nobody-acks-this", (error, ...args) => resolve({ error: errorInfo(error), args }))
  );
  return { ok, failed, outgoing };
};

checks.namespaces = async () => {
  const result = {};
  const refused = open("/admin");
  result.refused = errorInfo((await waitFor(refused, "connect_error"))[0]);
  result.refusedActive = refused.active;
  const allowed = open("/admin", { auth: { role: "admin" } });
  const welcome = waitFor(allowed, "welcome");
  await connected(allowed);
  result.allowedWelcome = (await welcome)[0];
  const dynamic = open("/dyn-x1");
  const dynWelcome = waitFor(dynamic, "welcome");
  await connected(dynamic);
  result.dynamicWelcome = (await dynWelcome)[0];
  const echo = waitFor(dynamic, "echo");
  dynamic.emit("echo", "in dyn-x1");
  result.dynamicEcho = await echo;
  const missing = open("/no-such-namespace");
  result.missing = errorInfo((await waitFor(missing, "connect_error"))[0]);
  // Multiplexing: without forceNew, namespaces of one origin share one manager.
  const main = io(ORIGIN, { transports: TRANSPORTS });
  const admin = io(ORIGIN + "/admin", { auth: { role: "admin" } });
  const dyn = io("/dyn-shared");
  created.push(main, admin, dyn);
  await Promise.all([connected(main), connected(admin), connected(dyn)]);
  result.sharedManager = main.io === admin.io && admin.io === dyn.io;
  result.sharedEngine = main.io.engine.id === dyn.io.engine.id;
  const again = io(ORIGIN, { transports: TRANSPORTS }); // same namespace again: a new manager
  created.push(again);
  result.sameNamespaceNewManager = again.io !== main.io;
  const unshared = io(ORIGIN + "/dyn-shared", { multiplex: false, transports: TRANSPORTS });
  created.push(unshared);
  result.multiplexFalseNewManager = unshared.io !== dyn.io;
  const adminEcho = waitFor(admin, "echo");
  const mainEcho = collect(main, "echo");
  admin.emit("echo", "admin only");
  result.adminEcho = await adminEcho;
  await sleep(100);
  result.mainSawAdminEcho = mainEcho.length;
  // One namespace leaving keeps the shared connection for the others.
  admin.disconnect();
  await sleep(100);
  const echoAfter = waitFor(main, "echo");
  main.emit("echo", "still here");
  result.mainAfterAdminLeft = await echoAfter;
  return result;
};

checks.rooms = async () => {
  const a = await connected(open("/"));
  const b = await connected(open("/"));
  const result = {};
  result.joined = await a.emitWithAck("join", "room-1");
  result.aId = a.id;
  const heardA = collect(a, "hey");
  const heardB = collect(b, "hey");
  b.emit("to-room", { room: "room-1", event: "hey", args: ["you", 1] });
  await until(() => heardA.length === 1, 3000, "hey in room-1");
  await sleep(150);
  result.heardA = heardA;
  result.heardB = heardB;
  result.left = await a.emitWithAck("leave", "room-1");
  b.emit("to-room", { room: "room-1", event: "hey", args: ["again"] });
  await sleep(300);
  result.heardAAfterLeave = heardA.length;
  result.rooms = await b.emitWithAck("rooms");
  result.bId = b.id;
  const broadcastA = collect(a, "news");
  const broadcastB = collect(b, "news");
  a.emit("broadcast-others", { event: "news", args: ["for the others"] });
  await until(() => broadcastB.length === 1, 3000, "broadcast to b");
  await sleep(150);
  result.broadcastOthers = { a: broadcastA.length, b: broadcastB };
  return result;
};

checks.auth = async () => {
  const result = {};
  const rejected = open("/", { auth: { token: "reject" } });
  const [error] = await waitFor(rejected, "connect_error");
  result.rejected = errorInfo(error);
  result.rejectedActive = rejected.active;
  const withFunction = open("/", { auth: (cb) => setTimeout(() => cb({ token: "fine", n: 1 }), 10) });
  const welcome = waitFor(withFunction, "welcome");
  await connected(withFunction);
  result.functionWelcome = (await welcome)[0];
  // After connect_error the socket is inactive; connect() tries again with new auth.
  rejected.auth = { token: "second try" };
  const retryWelcome = waitFor(rejected, "welcome");
  rejected.connect();
  await connected(rejected);
  result.retryWelcome = (await retryWelcome)[0];
  return result;
};

checks.disconnects = async () => {
  const result = {};
  const a = await connected(open("/", { reconnection: true, reconnectionDelay: 50 }));
  const reason = waitFor(a, "disconnect");
  a.emit("disconnect-me");
  result.serverReason = (await reason)[0];
  await sleep(300);
  result.afterServer = { connected: a.connected, active: a.active, id: a.id === undefined };
  const b = await connected(open("/"));
  const bId = b.id;
  const clientReason = waitFor(b, "disconnect");
  b.disconnect();
  result.clientReason = (await clientReason)[0];
  result.afterClient = { connected: b.connected, active: b.active };
  const watcher = await connected(open("/"));
  await sleep(200);
  const seen = await watcher.emitWithAck("last-disconnects");
  result.serverSawClient = seen.filter((entry) => entry.id === bId).map((entry) => entry.reason);
  return result;
};

checks.anyListeners = async () => {
  const socket = await connected(open("/"));
  const order = [];
  // The server's `welcome` may arrive after `connect` resolved here: only echoes count.
  const first = (event, ...args) => event === "echo" && order.push(["first", event, ...args]);
  const second = (event, ...args) => event === "echo" && order.push(["second", event, ...args]);
  socket.onAny(second);
  socket.prependAny(first);
  const outgoing = [];
  const out1 = (event, ...args) => outgoing.push(["out1", event, ...args]);
  const out0 = (event) => outgoing.push(["out0", event]);
  socket.onAnyOutgoing(out1);
  socket.prependAnyOutgoing(out0);
  const listenersBefore = [socket.listenersAny().length, socket.listenersAnyOutgoing().length];
  const echo = waitFor(socket, "echo");
  socket.emit("echo", "seen by all");
  await echo;
  socket.offAny(first);
  socket.offAnyOutgoing(out0);
  const echo2 = waitFor(socket, "echo");
  socket.emit("echo", "second");
  await echo2;
  socket.offAny();
  socket.offAnyOutgoing();
  const listenersAfter = [socket.listenersAny().length, socket.listenersAnyOutgoing().length];
  return { order, outgoing, listenersBefore, listenersAfter };
};

checks.volatile = async () => {
  const socket = open("/", { autoConnect: false });
  socket.volatile.emit("echo", "dropped while offline");
  const buffered = socket.sendBuffer.length;
  const echoes = collect(socket, "echo");
  socket.connect();
  await connected(socket);
  // As with the official client, a volatile packet is dropped while the transport is busy
  // writing (right after the upgrade it is sending `5`).
  await until(() => socket.io.engine.transport.writable, 1000, "a writable transport");
  socket.volatile.emit("echo", "volatile while connected");
  await until(() => echoes.length >= 1, 3000, "volatile echo");
  await sleep(200);
  return { buffered, echoes };
};

checks.bufferBound = async () => {
  const socket = open("/", { autoConnect: false, maxBufferedEmits: 3 });
  const overflow = collect(socket, "buffer_overflow");
  const echoes = collect(socket, "echo");
  for (let i = 1; i <= 5; i++) socket.emit("echo", "offline " + i);
  const before = { buffered: socket.sendBuffer.length, dropped: socket.droppedEmits };
  socket.connect();
  await connected(socket);
  await until(() => echoes.length === 3, 3000, "three echoes");
  await sleep(200);
  const defaults = open("/", { autoConnect: false });
  return {
    before,
    overflow,
    echoes,
    dropped: socket.droppedEmits,
    defaultBound: defaults.maxBufferedEmits,
  };
};

checks.engineApi = async () => {
  const socket = await connected(open("/"));
  const engine = socket.io.engine;
  const pings = collect(socket.io, "ping");
  return {
    transport: engine.transport.name,
    pingInterval: engine.pingInterval,
    pingTimeout: engine.pingTimeout,
    managerDefaults: (() => {
      const m = new io.Manager(ORIGIN, { autoConnect: false });
      return {
        reconnection: m.reconnection(),
        attempts: m.reconnectionAttempts(),
        delay: m.reconnectionDelay(),
        delayMax: m.reconnectionDelayMax(),
        factor: m.randomizationFactor(),
        timeout: m.timeout(),
        path: m.opts.path,
      };
    })(),
    protocol: io.protocol,
    pings: pings.length,
  };
};

// Reconnection after the server goes away and comes back on the same port, in three steps
// the Python side interleaves with stopping and starting the server.
let rc = null;

checks.reconnectStart = async () => {
  const socket = open("/", {
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 400,
    randomizationFactor: 0,
    maxBufferedEmits: 3,
    timeout: 2000,
  });
  rc = {
    socket,
    disconnects: collect(socket, "disconnect"),
    connects: collect(socket, "connect"),
    connectErrors: collect(socket, "connect_error"),
    overflow: collect(socket, "buffer_overflow"),
    echoes: collect(socket, "echo"),
    attempts: collect(socket.io, "reconnect_attempt"),
    reconnectErrors: collect(socket.io, "reconnect_error"),
    reconnects: collect(socket.io, "reconnect"),
    closes: collect(socket.io, "close"),
  };
  await connected(socket);
  rc.firstId = socket.id;
  return { id: socket.id, transport: socket.io.engine.transport.name };
};

checks.reconnectOffline = async () => {
  const socket = rc.socket;
  await until(() => rc.disconnects.length === 1, 8000, "disconnect");
  for (let i = 1; i <= 5; i++) socket.emit("echo", "queued " + i);
  return {
    disconnects: rc.disconnects,
    managerCloses: rc.closes.map((args) => args[0]),
    connected: socket.connected,
    active: socket.active,
    buffered: socket.sendBuffer.map((packet) => packet.data[1]),
    dropped: socket.droppedEmits,
    overflow: rc.overflow.map((args) => [args[0].event, ...args[0].args, args[1]]),
  };
};

checks.reconnectFinish = async () => {
  const socket = rc.socket;
  await until(() => rc.connects.length === 2, 15000, "second connect");
  await until(() => rc.echoes.length >= 3, 5000, "the buffered echoes");
  await sleep(300);
  const result = {
    echoes: rc.echoes,
    attempts: rc.attempts.length,
    attemptNumbers: rc.attempts.map((args) => args[0]).slice(0, 3),
    reconnectErrors: rc.reconnectErrors.length,
    reconnects: rc.reconnects,
    newId: socket.id !== rc.firstId,
    connected: socket.connected,
    recovered: socket.recovered,
    sendBuffer: socket.sendBuffer.length,
  };
  socket.disconnect();
  return result;
};

// Connection state recovery (servers started with recovery on).
checks.recovery = async () => {
  const socket = open("/", {
    transports: ["websocket"],
    reconnection: true,
    reconnectionDelay: 800,
    randomizationFactor: 0,
  });
  await connected(socket);
  const firstId = socket.id;
  const echo = waitFor(socket, "echo");
  socket.emit("echo", "x", 2);
  const echoed = await echo; // the server's offset must not reach the listener
  const offsetAfterEcho = typeof socket._lastOffset;
  const missed = collect(socket, "missed");
  socket.emit("emit-later", { event: "missed", args: ["while away", 42], delay_ms: 250 });
  await sleep(60);
  socket.io.engine.transport.ws.close(); // drop the connection under the client
  const [reason] = await waitFor(socket, "disconnect", 3000);
  await waitFor(socket, "connect", 8000);
  await until(() => missed.length === 1, 3000, "the missed event");
  return { firstId, echoed, offsetAfterEcho, reason, recovered: socket.recovered, sameId: socket.id === firstId, missed };
};

// Against the misbehaving test server: one engine path per misbehaviour.
checks.bad = async ({ path, extra }) => {
  const socket = io(ORIGIN, Object.assign({ forceNew: true, path, reconnection: false, timeout: 1500 }, extra || {}));
  created.push(socket);
  const events = [];
  socket.on("connect", () => events.push(["connect"]));
  socket.on("connect_error", (error) => events.push(["connect_error", error.message]));
  socket.on("disconnect", (reason) => events.push(["disconnect", reason]));
  socket.on("echo", (...args) => events.push(["echo", ...args]));
  socket.on("connect", () => socket.emit("echo", "hello"));
  await until(
    () => events.some((e) => e[0] === "connect_error" || e[0] === "disconnect"),
    6000,
    "connect_error or disconnect"
  );
  await sleep(200);
  return { events, transport: socket.io.engine && socket.io.engine.transport ? socket.io.engine.transport.name : null };
};

// Against the misbehaving server: an upgrade that fails leaves the client on polling.
checks.badUpgradeSurvives = async ({ path }) => {
  const socket = io(ORIGIN, { forceNew: true, path, reconnection: false, timeout: 3000 });
  created.push(socket);
  const upgradeErrors = collect(socket.io.engine, "upgradeError");
  await waitFor(socket, "connect", 5000);
  await until(() => upgradeErrors.length === 1, 3000, "upgradeError");
  const echo = waitFor(socket, "echo", 3000);
  socket.emit("echo", "still on polling");
  return { echo: await echo, transport: socket.io.engine.transport.name, upgradeErrors: upgradeErrors.length, connected: socket.connected };
};

window.runCheck = async (name, args) => {
  const errorsBefore = window.pageErrors.length;
  let outcome;
  try {
    const result = await checks[name](args || {});
    outcome = { ok: true, result };
  } catch (error) {
    outcome = { ok: false, error: String((error && error.stack) || error) };
  }
  if (!name.startsWith("reconnect") || name === "reconnectFinish") {
    for (const socket of created) {
      try {
        socket.disconnect();
        socket.io.engine && socket.io.engine.close();
      } catch (error) {
        outcome.cleanupError = String(error);
      }
    }
    created = [];
  }
  await sleep(50);
  outcome.pageErrors = window.pageErrors.slice(errorsBefore);
  return outcome;
};
