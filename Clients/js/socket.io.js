/*
 * Canal's Socket.IO browser client.
 *
 * Speaks Engine.IO v4 and Socket.IO v5, the protocols of the official socket.io-client 4.x,
 * and offers the same API, so a page written for that client runs unchanged against a Canal
 * server or any other Socket.IO v4 server. Written for Canal from the protocol documents; no
 * build step, no dependencies. Load it as a classic script; it defines the global `io`.
 *
 * Layers, bottom up:
 *   Emitter        the small event emitter every layer uses
 *   Engine.IO      packet and payload codec, the polling and websocket transports behind one
 *                  interface, EngineSocket (handshake, heartbeat, upgrade, write buffer)
 *   Socket.IO      packet encoder and decoder with binary attachments
 *   Manager        one Engine.IO connection shared by the namespaces of one origin and path,
 *                  with reconnection and backoff
 *   Socket         one namespace: events, acks, buffering, retries, state recovery
 *   io()           looks up or creates the Manager and returns the namespace's Socket
 *
 * Where it differs from the official client, it says so in Clients/js/README.md.
 */
(function (root) {
  "use strict";

  // ---------------------------------------------------------------------------------------
  // Emitter
  // ---------------------------------------------------------------------------------------

  // Runs a listener; an exception thrown by page code is reported asynchronously (as a
  // browser does for its own event handlers) and never breaks the protocol state machines.
  function callListener(listener, self, args) {
    try {
      listener.apply(self, args);
    } catch (error) {
      setTimeout(() => {
        throw error;
      }, 0);
    }
  }

  class Emitter {
    constructor() {
      this._listeners = new Map();
    }

    on(event, listener) {
      if (!this._listeners.has(event)) this._listeners.set(event, []);
      this._listeners.get(event).push(listener);
      return this;
    }

    addEventListener(event, listener) {
      return this.on(event, listener);
    }

    once(event, listener) {
      const wrapper = (...args) => {
        this.off(event, wrapper);
        listener.apply(this, args);
      };
      wrapper.listener = listener;
      return this.on(event, wrapper);
    }

    // off() removes every listener, off(event) those of one event, off(event, fn) one.
    off(event, listener) {
      if (event === undefined) {
        this._listeners.clear();
        return this;
      }
      const list = this._listeners.get(event);
      if (!list) return this;
      if (listener === undefined) {
        this._listeners.delete(event);
        return this;
      }
      const index = list.findIndex((l) => l === listener || l.listener === listener);
      if (index >= 0) list.splice(index, 1);
      if (list.length === 0) this._listeners.delete(event);
      return this;
    }

    removeListener(event, listener) {
      return this.off(event, listener);
    }

    removeEventListener(event, listener) {
      return this.off(event, listener);
    }

    removeAllListeners(event) {
      return this.off(event);
    }

    emit(event, ...args) {
      this._fire(event, ...args);
      return this;
    }

    // Local emission; Socket overrides emit() to send to the server.
    _fire(event, ...args) {
      const list = this._listeners.get(event);
      if (!list) return;
      for (const listener of list.slice()) callListener(listener, this, args);
    }

    emitReserved(event, ...args) {
      this._fire(event, ...args);
      return this;
    }

    listeners(event) {
      return (this._listeners.get(event) || []).slice();
    }

    hasListeners(event) {
      return (this._listeners.get(event) || []).length > 0;
    }
  }

  // Subscribes and returns the function that unsubscribes.
  function subscribe(emitter, event, listener) {
    emitter.on(event, listener);
    return () => emitter.off(event, listener);
  }

  // ---------------------------------------------------------------------------------------
  // Binary helpers
  // ---------------------------------------------------------------------------------------

  const hasBlob = typeof Blob === "function";

  function isBinary(value) {
    return (
      value instanceof ArrayBuffer ||
      ArrayBuffer.isView(value) ||
      (hasBlob && value instanceof Blob)
    );
  }

  function isBlob(value) {
    return hasBlob && value instanceof Blob;
  }

  function bytesOf(data) {
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  function toBase64(data) {
    const bytes = bytesOf(data);
    let text = "";
    const chunk = 0x8000; // keeps String.fromCharCode's argument list short
    for (let i = 0; i < bytes.length; i += chunk) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
    }
    return btoa(text);
  }

  function fromBase64(text) {
    const binary = atob(text); // throws on a malformed string: the caller turns it into a parse error
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function utf8Length(text) {
    let length = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code < 0x80) length += 1;
      else if (code < 0x800) length += 2;
      else if (code >= 0xd800 && code <= 0xdbff) {
        length += 4;
        i++;
      } else length += 3;
    }
    return length;
  }

  // ---------------------------------------------------------------------------------------
  // Engine.IO v4 codec
  // ---------------------------------------------------------------------------------------

  const ENGINE_TYPES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"];
  // Engine.IO v4: the packets of one polling payload are joined by the record separator.
  const SEPARATOR = "\x1e";

  class EngineParseError extends Error {}

  // A text packet is its type digit and data; a binary one is the bytes themselves on
  // websocket, and "b" + base64 where only text can travel (polling).
  function encodeEnginePacket(packet, binaryFrames) {
    if (packet.type === "message" && isBinary(packet.data)) {
      return binaryFrames ? packet.data : "b" + toBase64(packet.data);
    }
    const index = ENGINE_TYPES.indexOf(packet.type);
    return String(index) + (packet.data === undefined ? "" : String(packet.data));
  }

  function decodeEnginePacket(data) {
    if (typeof data !== "string") {
      if (data instanceof ArrayBuffer) return { type: "message", data };
      if (ArrayBuffer.isView(data)) {
        return { type: "message", data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) };
      }
      throw new EngineParseError("unexpected frame type");
    }
    if (data.length === 0) throw new EngineParseError("empty packet");
    if (data[0] === "b") {
      try {
        return { type: "message", data: fromBase64(data.slice(1)) };
      } catch (error) {
        throw new EngineParseError("invalid base64 packet");
      }
    }
    const type = ENGINE_TYPES[data.charCodeAt(0) - 48];
    if (type === undefined) throw new EngineParseError("unknown packet type");
    return data.length > 1 ? { type, data: data.slice(1) } : { type };
  }

  function encodeEnginePayload(packets) {
    return packets.map((packet) => encodeEnginePacket(packet, false)).join(SEPARATOR);
  }

  function decodeEnginePayload(text) {
    if (typeof text !== "string" || text.length === 0) throw new EngineParseError("empty payload");
    return text.split(SEPARATOR).map(decodeEnginePacket);
  }

  function encodeQuery(query) {
    const parts = [];
    for (const key of Object.keys(query)) {
      if (query[key] === undefined) continue;
      parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(query[key]));
    }
    return parts.join("&");
  }

  function decodeQuery(text) {
    const query = {};
    for (const [key, value] of new URLSearchParams(text)) query[key] = value;
    return query;
  }

  let stampCounter = 0;
  function timestamp() {
    stampCounter = (stampCounter + 1) % 1296;
    return Date.now().toString(36) + stampCounter.toString(36);
  }

  // ---------------------------------------------------------------------------------------
  // Transports: one interface (open, close, send, pause, writable; events open, packet,
  // drain, error, close), two implementations.
  // ---------------------------------------------------------------------------------------

  function transportError(reason, description, context) {
    const error = new Error(reason);
    error.type = "TransportError";
    error.description = description;
    error.context = context;
    return error;
  }

  class Transport extends Emitter {
    constructor(opts) {
      super();
      this.opts = opts;
      this.query = opts.query;
      this.socket = opts.socket;
      this.readyState = "";
      this.writable = false;
    }

    open() {
      this.readyState = "opening";
      this.doOpen();
      return this;
    }

    close() {
      if (this.readyState === "opening" || this.readyState === "open") {
        this.doClose();
        this.onClose({ description: "closed by the client" });
      }
      return this;
    }

    send(packets) {
      if (this.readyState === "open") this.write(packets);
    }

    onOpen() {
      this.readyState = "open";
      this.writable = true;
      this._fire("open");
    }

    onPacket(packet) {
      this._fire("packet", packet);
    }

    onError(reason, description, context) {
      this._fire("error", transportError(reason, description, context));
    }

    onClose(details) {
      this.readyState = "closed";
      this._fire("close", details);
    }

    uri(secureScheme, plainScheme, stamp) {
      const query = Object.assign({}, this.query);
      if (stamp) query[this.opts.timestampParam] = timestamp();
      const scheme = this.opts.secure ? secureScheme : plainScheme;
      const defaultPort = this.opts.secure ? 443 : 80;
      const host = this.opts.hostname.includes(":") ? "[" + this.opts.hostname + "]" : this.opts.hostname;
      const port = this.opts.port && Number(this.opts.port) !== defaultPort ? ":" + this.opts.port : "";
      const text = encodeQuery(query);
      return scheme + "://" + host + port + this.opts.path + (text ? "?" + text : "");
    }
  }

  // HTTP long-polling: one GET at a time waits for the server's packets, one POST at a time
  // carries ours. XMLHttpRequest where it exists (extraHeaders, withCredentials), fetch
  // otherwise or with `useFetch: true`.
  class Polling extends Transport {
    get name() {
      return "polling";
    }

    constructor(opts) {
      super(opts);
      this._polling = false;
      this._requests = new Set();
    }

    doOpen() {
      this._poll();
    }

    // Stops polling once the GET and POST in flight are done (for the upgrade).
    pause(onPause) {
      this.readyState = "pausing";
      const paused = () => {
        if (this.readyState !== "pausing") return;
        this.readyState = "paused";
        onPause();
      };
      let waiting = 0;
      const done = () => {
        waiting -= 1;
        if (waiting === 0) paused();
      };
      if (this._polling) {
        waiting += 1;
        this.once("pollComplete", done);
      }
      if (!this.writable) {
        waiting += 1;
        this.once("drain", done);
      }
      if (waiting === 0) paused();
    }

    // Polls again after an upgrade that failed once polling was paused.
    resume() {
      if (this.readyState !== "pausing" && this.readyState !== "paused") return;
      this.readyState = "open";
      if (!this._polling) this._poll();
    }

    _poll() {
      this._polling = true;
      this._request("GET").then(
        (text) => this._onPollData(text),
        (error) => this.onError("xhr poll error", error)
      );
      this._fire("poll");
    }

    _onPollData(text) {
      if (this.readyState === "closed") return;
      let packets;
      try {
        packets = decodeEnginePayload(text);
      } catch (error) {
        this.onError("parse error", error);
        return;
      }
      for (const packet of packets) {
        if (this.readyState === "opening" && packet.type === "open") this.onOpen();
        if (packet.type === "close") {
          this.onClose({ description: "transport closed by the server" });
          return;
        }
        this.onPacket(packet);
        if (this.readyState === "closed") return;
      }
      this._polling = false;
      this._fire("pollComplete");
      if (this.readyState === "open") this._poll();
    }

    doClose() {
      const requests = Array.from(this._requests);
      const sendClose = () => this.write([{ type: "close" }]);
      if (this.readyState === "open") sendClose();
      else this.once("open", sendClose);
      // Let the close packet leave, then abort the long GET.
      setTimeout(() => {
        for (const request of requests) request.abort();
      }, 0);
    }

    write(packets) {
      this.writable = false;
      this._request("POST", encodeEnginePayload(packets)).then(
        () => {
          this.writable = true;
          this._fire("drain");
        },
        (error) => this.onError("xhr post error", error)
      );
    }

    _request(method, body) {
      const uri = this.uri("https", "http", this.opts.timestampRequests !== false);
      if (this.opts.useFetch || typeof XMLHttpRequest !== "function") return this._fetch(method, uri, body);
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        const entry = { abort: () => xhr.abort() };
        this._requests.add(entry);
        xhr.open(method, uri, true);
        if (this.opts.withCredentials) xhr.withCredentials = true;
        const headers = this.opts.extraHeaders || {};
        try {
          for (const name of Object.keys(headers)) xhr.setRequestHeader(name, headers[name]);
          if (method === "POST") xhr.setRequestHeader("Content-Type", "text/plain;charset=UTF-8");
          xhr.setRequestHeader("Accept", "*/*");
        } catch (error) {
          // a header the browser forbids: send without it
        }
        if (this.opts.requestTimeout) xhr.timeout = this.opts.requestTimeout;
        xhr.onreadystatechange = () => {
          if (xhr.readyState !== 4) return;
          this._requests.delete(entry);
          if (xhr.status === 200) resolve(xhr.responseText);
          else reject(xhr.status === 0 ? "network error" : xhr.status);
        };
        try {
          xhr.send(body === undefined ? null : body);
        } catch (error) {
          this._requests.delete(entry);
          reject(error);
        }
      });
    }

    _fetch(method, uri, body) {
      const controller = typeof AbortController === "function" ? new AbortController() : null;
      const entry = { abort: () => controller && controller.abort() };
      this._requests.add(entry);
      const headers = Object.assign({}, this.opts.extraHeaders || {});
      if (method === "POST") headers["Content-Type"] = "text/plain;charset=UTF-8";
      return fetch(uri, {
        method,
        body,
        headers,
        credentials: this.opts.withCredentials ? "include" : "same-origin",
        signal: controller ? controller.signal : undefined,
      }).then(
        (response) => {
          if (response.status !== 200) {
            this._requests.delete(entry);
            throw response.status;
          }
          return response.text().then((text) => {
            this._requests.delete(entry);
            return text;
          });
        },
        (error) => {
          this._requests.delete(entry);
          throw error;
        }
      );
    }
  }

  // WebSocket: one frame per packet, binary frames for binary data.
  class WebSocketTransport extends Transport {
    get name() {
      return "websocket";
    }

    doOpen() {
      if (typeof WebSocket !== "function") {
        this.onError("websocket error", "WebSocket is not available");
        return;
      }
      const uri = this.uri("wss", "ws", this.opts.timestampRequests === true);
      try {
        this.ws = this.opts.protocols ? new WebSocket(uri, this.opts.protocols) : new WebSocket(uri);
      } catch (error) {
        setTimeout(() => this.onError("websocket error", error), 0);
        return;
      }
      this.ws.binaryType = "arraybuffer";
      this.ws.onopen = () => this.onOpen();
      this.ws.onclose = (event) =>
        this.onClose({ description: "websocket connection closed", context: event });
      this.ws.onmessage = (event) => this._onMessage(event.data);
      this.ws.onerror = (event) => this.onError("websocket error", event);
    }

    _onMessage(data) {
      let packet;
      try {
        packet = decodeEnginePacket(data);
      } catch (error) {
        this.onError("parse error", error);
        return;
      }
      this.onPacket(packet);
    }

    write(packets) {
      this.writable = false;
      for (const packet of packets) {
        try {
          this.ws.send(encodeEnginePacket(packet, true));
        } catch (error) {
          // the socket is closing: its close event follows
        }
      }
      // The browser queues the frames; report the drain on the next turn, as a write
      // completion, so the buffer is spliced after the caller has recorded its length.
      setTimeout(() => {
        if (this.readyState === "closed") return;
        this.writable = true;
        this._fire("drain");
      }, 0);
    }

    doClose() {
      if (!this.ws) return;
      this.ws.onerror = () => {};
      this.ws.onclose = null;
      this.ws.onmessage = null;
      try {
        this.ws.close();
      } catch (error) {
        // already closed
      }
      this.ws = null;
    }
  }

  const TRANSPORTS = { polling: Polling, websocket: WebSocketTransport };

  // ---------------------------------------------------------------------------------------
  // EngineSocket: one Engine.IO session over polling and/or websocket
  // ---------------------------------------------------------------------------------------

  let priorWebsocketSuccess = false;
  const MAX_PACKETS_PER_POST = 16;

  class EngineSocket extends Emitter {
    constructor(uri, opts) {
      super();
      if (uri && typeof uri === "object") {
        opts = uri;
        uri = undefined;
      }
      opts = Object.assign({}, opts || {});
      const location = typeof root.location === "object" ? root.location : null;
      if (uri) {
        const url = new URL(uri, location ? location.href : undefined);
        opts.hostname = url.hostname.replace(/^\[|\]$/g, "");
        opts.secure = url.protocol === "https:" || url.protocol === "wss:";
        opts.port = url.port;
        if (url.search && !opts.query) opts.query = url.search.slice(1);
      } else {
        if (!opts.hostname && location) opts.hostname = location.hostname;
        if (opts.secure === undefined) opts.secure = location ? location.protocol === "https:" : false;
        if (!opts.port && location) opts.port = location.port;
      }
      if (!opts.port) opts.port = opts.secure ? "443" : "80";
      this.secure = opts.secure;
      this.hostname = opts.hostname;
      this.port = String(opts.port);

      this.opts = Object.assign(
        {
          path: "/engine.io",
          upgrade: true,
          rememberUpgrade: false,
          timestampParam: "t",
          timestampRequests: undefined,
          addTrailingSlash: true,
          closeOnBeforeunload: false,
          withCredentials: false,
          extraHeaders: {},
          transports: ["polling", "websocket"],
        },
        opts
      );
      let path = String(this.opts.path).replace(/\/$/, "");
      if (!path.startsWith("/")) path = "/" + path;
      this.opts.path = path + (this.opts.addTrailingSlash ? "/" : "");
      if (typeof this.opts.query === "string") this.opts.query = decodeQuery(this.opts.query);
      this.opts.query = Object.assign({}, this.opts.query || {});

      this.transports = this.opts.transports
        .map((t) => (typeof t === "string" ? t : t && t.name))
        .filter((name) => TRANSPORTS[name]);
      this.readyState = "";
      this.id = null;
      this.upgrades = [];
      this.upgrading = false;
      this.writeBuffer = [];
      this._prevBufferLen = 0;
      this._pingTimer = null;
      this._pingDeadline = 0;
      this.pingInterval = 0;
      this.pingTimeout = 0;
      this._maxPayload = 0;

      if (this.opts.closeOnBeforeunload && typeof root.addEventListener === "function") {
        this._onBeforeUnload = () => {
          if (this.transport) {
            this.transport.removeAllListeners();
            this.transport.close();
          }
        };
        root.addEventListener("beforeunload", this._onBeforeUnload, false);
      }
      this._open();
    }

    _createTransport(name) {
      const query = Object.assign({}, this.opts.query, { EIO: 4, transport: name });
      if (this.id) query.sid = this.id;
      return new TRANSPORTS[name](
        Object.assign({}, this.opts, {
          query,
          socket: this,
          hostname: this.hostname,
          secure: this.secure,
          port: this.port,
        })
      );
    }

    _open() {
      if (this.transports.length === 0) {
        setTimeout(() => this._fire("error", new Error("No transports available")), 0);
        return;
      }
      const name =
        this.opts.rememberUpgrade && priorWebsocketSuccess && this.transports.includes("websocket")
          ? "websocket"
          : this.transports[0];
      this.readyState = "opening";
      const transport = this._createTransport(name);
      transport.open();
      this._setTransport(transport);
    }

    _setTransport(transport) {
      if (this.transport) this.transport.removeAllListeners();
      this.transport = transport;
      transport
        .on("drain", () => this._onDrain())
        .on("packet", (packet) => this._onPacket(packet))
        .on("error", (error) => this._onError(error))
        .on("close", (details) => this._onClose("transport close", details));
    }

    _onOpen() {
      this.readyState = "open";
      priorWebsocketSuccess = this.transport.name === "websocket";
      this._fire("open");
      this.flush();
      if (
        this.readyState === "open" &&
        this.opts.upgrade &&
        this.transport.name === "polling" &&
        this.upgrades.includes("websocket")
      ) {
        this._probe("websocket");
      }
    }

    _onPacket(packet) {
      if (this.readyState !== "opening" && this.readyState !== "open" && this.readyState !== "closing") return;
      this._fire("packet", packet);
      this._fire("heartbeat");
      switch (packet.type) {
        case "open":
          this._onHandshake(packet.data);
          break;
        case "ping":
          this._resetPingTimeout();
          this.sendPacket("pong");
          this._fire("ping");
          this._fire("pong");
          break;
        case "message":
          this._fire("data", packet.data);
          this._fire("message", packet.data);
          break;
        case "close":
          this._onClose("transport close", { description: "closed by the server" });
          break;
        default:
          // pong, upgrade and noop need nothing here
          break;
      }
    }

    _onHandshake(text) {
      if (this.readyState !== "opening") return; // a second open packet is ignored
      let data;
      try {
        data = JSON.parse(text);
      } catch (error) {
        data = null;
      }
      if (
        !data ||
        typeof data !== "object" ||
        typeof data.sid !== "string" ||
        data.sid === "" ||
        typeof data.pingInterval !== "number" ||
        typeof data.pingTimeout !== "number"
      ) {
        this._onError(transportError("parse error", "invalid handshake"));
        return;
      }
      this._fire("handshake", data);
      this.id = data.sid;
      this.transport.query.sid = data.sid;
      this.upgrades = (Array.isArray(data.upgrades) ? data.upgrades : []).filter(
        (name) => name !== this.transport.name && this.transports.includes(name)
      );
      this.pingInterval = data.pingInterval;
      this.pingTimeout = data.pingTimeout;
      this._maxPayload = typeof data.maxPayload === "number" ? data.maxPayload : 0;
      this._onOpen();
      if (this.readyState === "closed") return;
      this._resetPingTimeout();
    }

    // Engine.IO v4: the server pings every pingInterval; no ping for pingInterval +
    // pingTimeout means the connection is gone.
    _resetPingTimeout() {
      clearTimeout(this._pingTimer);
      const delay = this.pingInterval + this.pingTimeout;
      this._pingDeadline = Date.now() + delay;
      this._pingTimer = setTimeout(() => this._onClose("ping timeout"), delay);
    }

    // A throttled timer (background tab) may fire late: check the clock as well.
    _hasPingExpired() {
      if (!this._pingDeadline || this.readyState !== "open") return false;
      const expired = Date.now() > this._pingDeadline;
      if (expired) {
        this._pingDeadline = 0;
        setTimeout(() => this._onClose("ping timeout"), 0);
      }
      return expired;
    }

    _onDrain() {
      this.writeBuffer.splice(0, this._prevBufferLen);
      this._prevBufferLen = 0;
      if (this.writeBuffer.length === 0) this._fire("drain");
      else this.flush();
    }

    flush() {
      if (
        this.readyState !== "closed" &&
        this.transport &&
        this.transport.writable &&
        !this.upgrading &&
        this.writeBuffer.length > 0
      ) {
        const packets = this._writablePackets();
        this.transport.send(packets);
        this._prevBufferLen = packets.length;
        this._fire("flush");
      }
    }

    // A polling POST stays under the server's maxPayload, and carries at most
    // MAX_PACKETS_PER_POST packets (python-engineio refuses a payload of more than 16); the
    // rest waits for the next POST.
    _writablePackets() {
      if (this.transport.name !== "polling" || this.writeBuffer.length <= 1) return this.writeBuffer;
      if (!this._maxPayload) return this.writeBuffer.slice(0, MAX_PACKETS_PER_POST);
      let size = 1;
      for (let i = 0; i < this.writeBuffer.length; i++) {
        if (i === MAX_PACKETS_PER_POST) return this.writeBuffer.slice(0, i);
        const data = this.writeBuffer[i].data;
        if (typeof data === "string") size += utf8Length(data);
        else if (data !== undefined) size += Math.ceil(bytesOf(data).byteLength / 3) * 4 + 1;
        if (i > 0 && size > this._maxPayload) return this.writeBuffer.slice(0, i);
        size += 2;
      }
      return this.writeBuffer;
    }

    write(data, options, callback) {
      this.sendPacket("message", data, options, callback);
      return this;
    }

    send(data, options, callback) {
      return this.write(data, options, callback);
    }

    sendPacket(type, data, options, callback) {
      if (typeof data === "function") {
        callback = data;
        data = undefined;
      }
      if (typeof options === "function") {
        callback = options;
        options = undefined;
      }
      if (this.readyState === "closing" || this.readyState === "closed") return;
      const packet = { type, data, options: Object.assign({ compress: true }, options || {}) };
      this._fire("packetCreate", packet);
      this.writeBuffer.push(packet);
      if (callback) this.once("flush", callback);
      this.flush();
    }

    _probe(name) {
      let probe = this._createTransport(name);
      let failed = false;
      priorWebsocketSuccess = false;
      let paused = false;

      const cleanup = () => {
        probe.off("open", onProbeOpen);
        probe.off("error", onProbeError);
        probe.off("close", onProbeClose);
        this.off("close", onSocketClose);
        this.off("upgrading", onOtherUpgrade);
      };
      const freeze = () => {
        if (failed) return;
        failed = true;
        cleanup();
        probe.removeAllListeners();
        probe.close();
        probe = null;
        // If polling was already paused for this upgrade, go back to it.
        if (this.upgrading) {
          this.upgrading = false;
          if (this.readyState === "open" && this.transport.resume) {
            this.transport.resume();
            this.flush();
          }
        }
      };
      const onProbeError = (error) => {
        const reason = error && error.message ? error.message : String(error);
        freeze();
        const upgradeError = new Error("probe error: " + reason);
        upgradeError.transport = name;
        this._fire("upgradeError", upgradeError);
      };
      const onProbeClose = () => onProbeError("transport closed");
      const onSocketClose = () => onProbeError("socket closed");
      const onOtherUpgrade = (to) => {
        if (probe && to.name !== probe.name) freeze();
      };
      const onProbeOpen = () => {
        if (failed) return;
        probe.send([{ type: "ping", data: "probe" }]);
        probe.once("packet", (packet) => {
          if (failed) return;
          if (packet.type !== "pong" || packet.data !== "probe") {
            onProbeError("unexpected answer to the probe");
            return;
          }
          this.upgrading = true;
          this._fire("upgrading", probe);
          if (!probe) return;
          priorWebsocketSuccess = probe.name === "websocket";
          this.transport.pause(() => {
            if (failed || paused) return;
            paused = true;
            if (this.readyState === "closed") return;
            cleanup();
            const upgraded = probe;
            this._setTransport(upgraded);
            upgraded.send([{ type: "upgrade" }]);
            this._fire("upgrade", upgraded);
            probe = null;
            this.upgrading = false;
            this.flush();
          });
        });
      };

      probe.once("open", onProbeOpen);
      probe.once("error", onProbeError);
      probe.once("close", onProbeClose);
      this.once("close", onSocketClose);
      this.once("upgrading", onOtherUpgrade);
      probe.open();
    }

    close() {
      const close = () => {
        this._onClose("forced close");
      };
      const waitForUpgrade = () => {
        const done = () => {
          this.off("upgrade", done);
          this.off("upgradeError", done);
          close();
        };
        this.once("upgrade", done);
        this.once("upgradeError", done);
      };
      if (this.readyState === "opening" || this.readyState === "open") {
        this.readyState = "closing";
        if (this.writeBuffer.length > 0) {
          this.once("drain", () => (this.upgrading ? waitForUpgrade() : close()));
        } else if (this.upgrading) {
          waitForUpgrade();
        } else {
          close();
        }
      }
      return this;
    }

    _onError(error) {
      priorWebsocketSuccess = false;
      if (this.readyState === "closed") return;
      this._fire("error", error);
      this._onClose("transport error", error);
    }

    _onClose(reason, description) {
      if (this.readyState !== "opening" && this.readyState !== "open" && this.readyState !== "closing") return;
      clearTimeout(this._pingTimer);
      this._pingDeadline = 0;
      const transport = this.transport;
      transport.removeAllListeners();
      transport.close();
      if (this._onBeforeUnload && typeof root.removeEventListener === "function") {
        root.removeEventListener("beforeunload", this._onBeforeUnload, false);
      }
      this.readyState = "closed";
      this.id = null;
      this._fire("close", reason, description);
      this.writeBuffer = [];
      this._prevBufferLen = 0;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Socket.IO v5 codec
  // ---------------------------------------------------------------------------------------

  const PacketType = Object.freeze({
    CONNECT: 0,
    DISCONNECT: 1,
    EVENT: 2,
    ACK: 3,
    CONNECT_ERROR: 4,
    BINARY_EVENT: 5,
    BINARY_ACK: 6,
  });

  const RESERVED_EVENTS = new Set([
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
  ]);

  function hasBinary(value, depth = 0) {
    if (value === null || typeof value !== "object" || depth > 1000) return false;
    if (isBinary(value)) return true;
    if (Array.isArray(value)) return value.some((item) => hasBinary(item, depth + 1));
    if (typeof value.toJSON === "function" && !(value instanceof Date)) {
      const json = value.toJSON();
      return json !== value && hasBinary(json, depth + 1);
    }
    for (const key of Object.keys(value)) {
      if (hasBinary(value[key], depth + 1)) return true;
    }
    return false;
  }

  // Replaces every binary value by {"_placeholder": true, "num": N}, collecting the values.
  function deconstruct(value, buffers) {
    if (value === null || typeof value !== "object") return value;
    if (isBinary(value)) {
      buffers.push(value);
      return { _placeholder: true, num: buffers.length - 1 };
    }
    if (Array.isArray(value)) return value.map((item) => deconstruct(item, buffers));
    if (value instanceof Date) return value;
    if (typeof value.toJSON === "function") {
      const json = value.toJSON();
      return json === value ? json : deconstruct(json, buffers);
    }
    const copy = {};
    for (const key of Object.keys(value)) copy[key] = deconstruct(value[key], buffers);
    return copy;
  }

  function reconstruct(value, buffers) {
    if (value === null || typeof value !== "object") return value;
    if (value._placeholder === true) {
      const num = value.num;
      if (Number.isInteger(num) && num >= 0 && num < buffers.length) return buffers[num];
      throw new Error("illegal attachment placeholder");
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = reconstruct(value[i], buffers);
      return value;
    }
    for (const key of Object.keys(value)) value[key] = reconstruct(value[key], buffers);
    return value;
  }

  class Encoder {
    // Returns the Engine.IO messages of one packet: its text, then its binary attachments.
    encode(packet) {
      let type = packet.type;
      let data = packet.data;
      const buffers = [];
      if ((type === PacketType.EVENT || type === PacketType.ACK) && hasBinary(data)) {
        type = type === PacketType.EVENT ? PacketType.BINARY_EVENT : PacketType.BINARY_ACK;
        data = deconstruct(data, buffers);
      }
      let text = String(type);
      if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) text += buffers.length + "-";
      if (packet.nsp && packet.nsp !== "/") text += packet.nsp + ",";
      if (packet.id !== undefined && packet.id !== null) text += packet.id;
      if (data !== undefined) text += JSON.stringify(data);
      return [text, ...buffers];
    }
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function payloadIsValid(type, payload) {
    switch (type) {
      case PacketType.CONNECT:
        return payload === undefined || isObject(payload);
      case PacketType.DISCONNECT:
        return payload === undefined;
      case PacketType.CONNECT_ERROR:
        return typeof payload === "string" || isObject(payload);
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT:
        return (
          Array.isArray(payload) &&
          payload.length > 0 &&
          (typeof payload[0] === "number" || (typeof payload[0] === "string" && !RESERVED_EVENTS.has(payload[0])))
        );
      case PacketType.ACK:
      case PacketType.BINARY_ACK:
        return Array.isArray(payload);
      default:
        return false;
    }
  }

  class Decoder extends Emitter {
    constructor() {
      super();
      this._pending = null; // a binary packet waiting for its attachments
    }

    // Throws on malformed input; the Manager turns that into a "parse error" disconnect.
    add(data) {
      if (typeof data === "string") {
        if (this._pending) throw new Error("text packet while waiting for binary attachments");
        const packet = this._decodeText(data);
        if (packet.attachments > 0) {
          this._pending = { packet, buffers: [] };
        } else {
          delete packet.attachments;
          this._fire("decoded", packet);
        }
        return;
      }
      if (!this._pending) throw new Error("binary data without a packet waiting for it");
      this._pending.buffers.push(data);
      if (this._pending.buffers.length === this._pending.packet.attachments) {
        const { packet, buffers } = this._pending;
        this._pending = null;
        packet.data = reconstruct(packet.data, buffers);
        delete packet.attachments;
        this._fire("decoded", packet);
      }
    }

    _decodeText(text) {
      let i = 0;
      const type = text.charCodeAt(0) - 48;
      if (!(type >= 0 && type <= 6)) throw new Error("unknown packet type");
      const packet = { type, nsp: "/", attachments: 0 };
      i = 1;
      if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
        const dash = text.indexOf("-", i);
        const count = text.slice(i, dash);
        if (dash < 0 || !/^\d{1,6}$/.test(count)) throw new Error("illegal attachments");
        packet.attachments = Number(count);
        i = dash + 1;
      }
      if (text[i] === "/") {
        const comma = text.indexOf(",", i);
        const end = comma < 0 ? text.length : comma;
        packet.nsp = text.slice(i, end);
        i = comma < 0 ? text.length : comma + 1;
      }
      let digits = "";
      while (i < text.length && text[i] >= "0" && text[i] <= "9") digits += text[i++];
      if (digits) {
        if (digits.length > 15) throw new Error("invalid packet id");
        packet.id = Number(digits);
      }
      if (i < text.length) {
        try {
          packet.data = JSON.parse(text.slice(i));
        } catch (error) {
          throw new Error("invalid payload");
        }
      }
      if (!payloadIsValid(type, packet.data)) throw new Error("invalid payload");
      if (packet.attachments > 0 && !hasPlaceholders(packet.data, packet.attachments)) {
        throw new Error("illegal attachments");
      }
      return packet;
    }

    destroy() {
      this._pending = null;
      this.off();
    }
  }

  // Every placeholder must name an attachment that will arrive.
  function hasPlaceholders(value, count) {
    let ok = true;
    const walk = (node) => {
      if (!ok || node === null || typeof node !== "object") return;
      if (node._placeholder === true) {
        if (!(Number.isInteger(node.num) && node.num >= 0 && node.num < count)) ok = false;
        return;
      }
      for (const key of Object.keys(node)) walk(node[key]);
    };
    walk(value);
    return ok;
  }

  // ---------------------------------------------------------------------------------------
  // Backoff: exponential with jitter
  // ---------------------------------------------------------------------------------------

  class Backoff {
    constructor(opts) {
      this.min = opts.min;
      this.max = opts.max;
      this.jitter = opts.jitter > 0 && opts.jitter <= 1 ? opts.jitter : 0;
      this.attempts = 0;
    }

    // min * 2^attempts, moved by up to ±jitter of itself, never above max.
    duration() {
      const base = this.min * Math.pow(2, Math.min(this.attempts, 31));
      this.attempts += 1;
      const spread = this.jitter ? base * this.jitter * (Math.random() * 2 - 1) : 0;
      return Math.max(0, Math.floor(Math.min(base + spread, this.max)));
    }

    reset() {
      this.attempts = 0;
    }

    setMin(value) {
      this.min = value;
    }

    setMax(value) {
      this.max = value;
    }

    setJitter(value) {
      this.jitter = value;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Manager: the shared Engine.IO connection and its reconnection
  // ---------------------------------------------------------------------------------------

  class Manager extends Emitter {
    constructor(uri, opts) {
      super();
      if (uri && typeof uri === "object") {
        opts = uri;
        uri = undefined;
      }
      opts = Object.assign({}, opts || {});
      opts.path = opts.path || "/socket.io";
      this.opts = opts;
      this.uri = uri;
      this.nsps = {};
      this.subs = [];
      this._readyState = "closed";
      this._reconnecting = false;
      this.skipReconnect = false;
      this._out = []; // encoded packets in emit order, some waiting for a Blob to be read
      this.backoff = new Backoff({
        min: opts.reconnectionDelay === undefined ? 1000 : opts.reconnectionDelay,
        max: opts.reconnectionDelayMax === undefined ? 5000 : opts.reconnectionDelayMax,
        jitter: opts.randomizationFactor === undefined ? 0.5 : opts.randomizationFactor,
      });
      this.reconnection(opts.reconnection !== false);
      this.reconnectionAttempts(opts.reconnectionAttempts === undefined ? Infinity : opts.reconnectionAttempts);
      this.reconnectionDelay(opts.reconnectionDelay === undefined ? 1000 : opts.reconnectionDelay);
      this.reconnectionDelayMax(opts.reconnectionDelayMax === undefined ? 5000 : opts.reconnectionDelayMax);
      this.randomizationFactor(opts.randomizationFactor === undefined ? 0.5 : opts.randomizationFactor);
      this.timeout(opts.timeout === undefined ? 20000 : opts.timeout);
      this.encoder = new Encoder();
      this.decoder = new Decoder();
      this._autoConnect = opts.autoConnect !== false;
      if (this._autoConnect) this.open();
    }

    reconnection(value) {
      if (value === undefined) return this._reconnection;
      this._reconnection = !!value;
      if (!value) this.skipReconnect = true;
      return this;
    }

    reconnectionAttempts(value) {
      if (value === undefined) return this._reconnectionAttempts;
      this._reconnectionAttempts = value;
      return this;
    }

    reconnectionDelay(value) {
      if (value === undefined) return this._reconnectionDelay;
      this._reconnectionDelay = value;
      this.backoff.setMin(value);
      return this;
    }

    randomizationFactor(value) {
      if (value === undefined) return this._randomizationFactor;
      this._randomizationFactor = value;
      this.backoff.setJitter(value);
      return this;
    }

    reconnectionDelayMax(value) {
      if (value === undefined) return this._reconnectionDelayMax;
      this._reconnectionDelayMax = value;
      this.backoff.setMax(value);
      return this;
    }

    timeout(value) {
      if (value === undefined) return this._timeout;
      this._timeout = value;
      return this;
    }

    _maybeReconnectOnOpen() {
      if (!this._reconnecting && this._reconnection && this.backoff.attempts === 0) this.reconnect();
    }

    open(callback) {
      if (this._readyState.indexOf("open") >= 0) return this;
      this.engine = new EngineSocket(this.uri, this.opts);
      const engine = this.engine;
      this._readyState = "opening";
      this.skipReconnect = false;
      let settled = false;
      const fail = (error) => {
        if (settled) return;
        settled = true;
        this._cleanup();
        this._readyState = "closed";
        this._fire("error", error);
        if (callback) callback(error);
        else this._maybeReconnectOnOpen();
      };
      this.subs.push(
        subscribe(engine, "open", () => {
          if (settled) return;
          settled = true;
          this._onopen();
          if (callback) callback();
        })
      );
      this.subs.push(subscribe(engine, "error", fail));
      // An engine may also close before opening without an error (a close packet).
      this.subs.push(
        subscribe(engine, "close", (reason) => {
          const error = new Error(reason);
          error.type = "TransportError";
          fail(error);
        })
      );
      if (this._timeout !== false) {
        const timer = setTimeout(() => {
          if (settled) return;
          fail(new Error("timeout"));
          engine.close();
        }, this._timeout);
        this.subs.push(() => clearTimeout(timer));
      }
      return this;
    }

    connect(callback) {
      return this.open(callback);
    }

    _onopen() {
      this._cleanup();
      this._readyState = "open";
      this._fire("open");
      const engine = this.engine;
      this.decoder = new Decoder();
      this.subs.push(
        subscribe(engine, "ping", () => this._fire("ping")),
        subscribe(engine, "data", (data) => this._ondata(data)),
        subscribe(engine, "error", (error) => this._fire("error", error)),
        subscribe(engine, "close", (reason, description) => this._onclose(reason, description)),
        subscribe(this.decoder, "decoded", (packet) => this._ondecoded(packet))
      );
    }

    _ondata(data) {
      try {
        this.decoder.add(data);
      } catch (error) {
        this._onclose("parse error", error);
      }
    }

    _ondecoded(packet) {
      this._fire("packet", packet);
    }

    socket(nsp, opts) {
      let socket = this.nsps[nsp];
      if (!socket) {
        socket = new Socket(this, nsp, opts);
        this.nsps[nsp] = socket;
      } else if (this._autoConnect && !socket.active) {
        socket.connect();
      }
      return socket;
    }

    // Called when a namespace leaves; the connection closes once none is active.
    _destroy(socket) {
      for (const nsp of Object.keys(this.nsps)) {
        if (this.nsps[nsp].active) return;
      }
      this._close();
    }

    _packet(packet) {
      const parts = this.encoder.encode(packet);
      const entry = { parts, options: packet.options, ready: !parts.some(isBlob) };
      this._out.push(entry);
      if (!entry.ready) {
        // A Blob is read to an ArrayBuffer first; later packets wait behind it.
        Promise.all(parts.map((part) => (isBlob(part) ? part.arrayBuffer() : part))).then(
          (read) => {
            entry.parts = read;
            entry.ready = true;
            this._flushOut();
          },
          () => {
            entry.parts = null;
            entry.ready = true;
            this._flushOut();
          }
        );
      }
      this._flushOut();
    }

    _flushOut() {
      while (this._out.length > 0 && this._out[0].ready) {
        const entry = this._out.shift();
        if (!entry.parts || !this.engine) continue;
        for (const part of entry.parts) this.engine.write(part, entry.options);
      }
    }

    _cleanup() {
      for (const unsubscribe of this.subs) unsubscribe();
      this.subs.length = 0;
      this.decoder.destroy();
    }

    _close() {
      this.skipReconnect = true;
      this._reconnecting = false;
      this._onclose("forced close");
    }

    disconnect() {
      return this._close();
    }

    close() {
      return this._close();
    }

    _onclose(reason, description) {
      this._cleanup();
      if (this.engine) this.engine.close();
      this._out = [];
      this.backoff.reset();
      this._readyState = "closed";
      this._fire("close", reason, description);
      if (this._reconnection && !this.skipReconnect) this.reconnect();
    }

    reconnect() {
      if (this._reconnecting || this.skipReconnect) return this;
      if (this.backoff.attempts >= this._reconnectionAttempts) {
        this.backoff.reset();
        this._reconnecting = false;
        this._fire("reconnect_failed");
        return this;
      }
      const delay = this.backoff.duration();
      this._reconnecting = true;
      const timer = setTimeout(() => {
        if (this.skipReconnect) return;
        this._fire("reconnect_attempt", this.backoff.attempts);
        if (this.skipReconnect) return;
        this.open((error) => {
          if (error) {
            this._reconnecting = false;
            this.reconnect();
            this._fire("reconnect_error", error);
          } else {
            const attempts = this.backoff.attempts;
            this._reconnecting = false;
            this.backoff.reset();
            this._fire("reconnect", attempts);
          }
        });
      }, delay);
      this.subs.push(() => clearTimeout(timer));
      return this;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Socket: one namespace
  // ---------------------------------------------------------------------------------------

  // Our bound on emits buffered while disconnected (the official client has none).
  const DEFAULT_MAX_BUFFERED_EMITS = 1000;

  class Socket extends Emitter {
    constructor(io, nsp, opts) {
      super();
      opts = opts || {};
      this.io = io;
      this.nsp = nsp;
      this.id = undefined;
      this.connected = false;
      this.recovered = false;
      this.receiveBuffer = [];
      this.sendBuffer = [];
      this.droppedEmits = 0;
      this.ids = 0;
      this.acks = {};
      this.flags = {};
      this.subs = undefined;
      this._queue = [];
      this._queueSeq = 0;
      this._anyListeners = [];
      this._anyOutgoingListeners = [];
      this._pid = undefined;
      this._lastOffset = undefined;
      this._connectTimer = null;
      this._awaitingConnect = false;
      if (opts.auth) this.auth = opts.auth;
      this._opts = Object.assign({}, opts);
      this.maxBufferedEmits =
        typeof opts.maxBufferedEmits === "number" && opts.maxBufferedEmits >= 0
          ? opts.maxBufferedEmits
          : DEFAULT_MAX_BUFFERED_EMITS;
      if (this.io._autoConnect) this.open();
    }

    get disconnected() {
      return !this.connected;
    }

    get active() {
      return !!this.subs;
    }

    get volatile() {
      this.flags.volatile = true;
      return this;
    }

    _subEvents() {
      if (this.subs) return;
      const io = this.io;
      this.subs = [
        subscribe(io, "open", () => this._onopen()),
        subscribe(io, "packet", (packet) => this._onpacket(packet)),
        subscribe(io, "error", (error) => this._onerror(error)),
        subscribe(io, "close", (reason, description) => this._onclose(reason, description)),
      ];
    }

    connect() {
      if (this.connected) return this;
      this._subEvents();
      if (!this.io._reconnecting) this.io.open();
      if (this.io._readyState === "open") this._onopen();
      return this;
    }

    open() {
      return this.connect();
    }

    send(...args) {
      args.unshift("message");
      this.emit.apply(this, args);
      return this;
    }

    emit(event, ...args) {
      if (RESERVED_EVENTS.has(event)) throw new Error('"' + event + '" is a reserved event name');
      args.unshift(event);
      if (this._opts.retries && !this.flags.fromQueue && !this.flags.volatile) {
        this._addToQueue(args);
        return this;
      }
      const packet = {
        type: PacketType.EVENT,
        data: args,
        options: { compress: this.flags.compress !== false },
      };
      if (typeof args[args.length - 1] === "function") {
        const id = this.ids++;
        const ack = args.pop();
        this._registerAckCallback(id, ack);
        packet.id = id;
      }
      const engine = this.io.engine;
      const writable = !!(engine && engine.transport && engine.transport.writable);
      const connected = this.connected && !(engine && engine._hasPingExpired());
      if (this.flags.volatile && !writable) {
        // volatile: dropped when it cannot leave now
      } else if (connected) {
        this._notifyOutgoing(packet);
        this.packet(packet);
      } else {
        this._buffer(packet);
      }
      this.flags = {};
      return this;
    }

    // Keeps at most maxBufferedEmits packets; past it the oldest goes, counted and reported.
    _buffer(packet) {
      if (this.maxBufferedEmits === 0) {
        this._dropped(packet);
        return;
      }
      this.sendBuffer.push(packet);
      while (this.sendBuffer.length > this.maxBufferedEmits) this._dropped(this.sendBuffer.shift());
    }

    _dropped(packet) {
      this.droppedEmits += 1;
      if (packet.id !== undefined) {
        const ack = this.acks[packet.id];
        delete this.acks[packet.id];
        if (ack && ack.withError) callListener(ack, this, [new Error("dropped from the send buffer")]);
      }
      this._fire("buffer_overflow", { event: packet.data[0], args: packet.data.slice(1) }, this.droppedEmits);
    }

    _registerAckCallback(id, ack) {
      const timeout = this.flags.timeout !== undefined ? this.flags.timeout : this._opts.ackTimeout;
      if (timeout === undefined) {
        this.acks[id] = ack;
        return;
      }
      const timer = setTimeout(() => {
        delete this.acks[id];
        this.sendBuffer = this.sendBuffer.filter((packet) => packet.id !== id);
        callListener(ack, this, [new Error("operation has timed out")]);
      }, timeout);
      const wrapped = (...args) => {
        clearTimeout(timer);
        ack.apply(this, args);
      };
      wrapped.withError = true;
      this.acks[id] = wrapped;
    }

    emitWithAck(event, ...args) {
      const withError = this.flags.timeout !== undefined || this._opts.ackTimeout !== undefined;
      return new Promise((resolve, reject) => {
        args.push((first, second) => {
          if (withError) {
            if (first) reject(first);
            else resolve(second);
          } else {
            resolve(first);
          }
        });
        this.emit(event, ...args);
      });
    }

    // The official retry queue: one packet in flight at a time, each retried until it is
    // acknowledged or has failed `retries` + 1 times.
    _addToQueue(args) {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
      const entry = {
        id: this._queueSeq++,
        tryCount: 0,
        pending: false,
        args,
        flags: Object.assign({ fromQueue: true }, this.flags),
        ack,
      };
      args.push((error, ...response) => {
        if (entry !== this._queue[0]) return; // a late answer to an earlier try
        if (error) {
          if (entry.tryCount > this._opts.retries) {
            this._queue.shift();
            if (ack) callListener(ack, this, [error]);
          }
        } else {
          this._queue.shift();
          if (ack) callListener(ack, this, [null, ...response]);
        }
        entry.pending = false;
        this._drainQueue();
      });
      this._queue.push(entry);
      // The same bound as the send buffer; the packet in flight is never dropped.
      while (this._queue.length > Math.max(this.maxBufferedEmits, 1)) {
        const index = this._queue[0].pending ? 1 : 0;
        const [dropped] = this._queue.splice(index, 1);
        this.droppedEmits += 1;
        if (dropped.ack) callListener(dropped.ack, this, [new Error("dropped from the send buffer")]);
        this._fire("buffer_overflow", { event: dropped.args[0], args: dropped.args.slice(1, -1) }, this.droppedEmits);
      }
      this.flags = {};
      this._drainQueue();
    }

    _drainQueue(force = false) {
      if (!this.connected || this._queue.length === 0) return;
      const entry = this._queue[0];
      if (entry.pending && !force) return;
      entry.pending = true;
      entry.tryCount++;
      this.flags = entry.flags;
      this.emit.apply(this, entry.args);
    }

    packet(packet) {
      packet.nsp = this.nsp;
      this.io._packet(packet);
    }

    _onopen() {
      if (typeof this.auth === "function") {
        this.auth((data) => this._sendConnectPacket(data));
      } else {
        this._sendConnectPacket(this.auth);
      }
    }

    _sendConnectPacket(data) {
      if (this.connected || !this.active || this.io._readyState !== "open") return;
      const payload = this._pid ? Object.assign({ pid: this._pid, offset: this._lastOffset }, data) : data;
      this.packet({ type: PacketType.CONNECT, data: payload });
      this._awaitingConnect = true;
      this._startConnectTimer();
    }

    // A server that never answers our CONNECT: report it, and if no other namespace uses the
    // connection, drop it so that the manager's reconnection starts over.
    _startConnectTimer() {
      clearTimeout(this._connectTimer);
      const timeout = this.io._timeout;
      if (timeout === false || timeout === undefined) return;
      this._connectTimer = setTimeout(() => {
        if (this.connected || !this._awaitingConnect) return;
        this._awaitingConnect = false;
        this._fire("connect_error", new Error("timeout"));
        const others = Object.values(this.io.nsps).some((s) => s !== this && s.connected);
        if (!others && this.io._readyState === "open") this.io._onclose("transport close");
      }, timeout);
    }

    _onerror(error) {
      if (this.connected) return;
      this._awaitingConnect = false;
      this._fire("connect_error", error);
    }

    _onclose(reason, description) {
      clearTimeout(this._connectTimer);
      const wasConnected = this.connected;
      this.connected = false;
      this.id = undefined;
      if (wasConnected) {
        this._fire("disconnect", reason, description);
        this._clearAcks();
      } else if (this._awaitingConnect && reason !== "forced close") {
        // The connection went away before our CONNECT was answered (a transport error has
        // been reported through the manager's "error" already, which cleared the flag).
        this._awaitingConnect = false;
        const error = new Error(reason);
        error.description = description;
        this._fire("connect_error", error);
      }
    }

    _clearAcks() {
      for (const id of Object.keys(this.acks)) {
        const buffered = this.sendBuffer.some((packet) => String(packet.id) === id);
        if (buffered) continue;
        const ack = this.acks[id];
        delete this.acks[id];
        if (ack.withError) callListener(ack, this, [new Error("socket has been disconnected")]);
      }
    }

    _onpacket(packet) {
      if (packet.nsp !== this.nsp) return;
      switch (packet.type) {
        case PacketType.CONNECT:
          if (packet.data && typeof packet.data.sid === "string") {
            this._onconnect(packet.data.sid, typeof packet.data.pid === "string" ? packet.data.pid : undefined);
          } else {
            this._fire(
              "connect_error",
              new Error("The server answered CONNECT without a session id: is it a Socket.IO v3/v4 server?")
            );
          }
          break;
        case PacketType.EVENT:
        case PacketType.BINARY_EVENT:
          this._onevent(packet);
          break;
        case PacketType.ACK:
        case PacketType.BINARY_ACK:
          this._onack(packet);
          break;
        case PacketType.DISCONNECT:
          this._ondisconnect();
          break;
        case PacketType.CONNECT_ERROR: {
          clearTimeout(this._connectTimer);
          this._awaitingConnect = false;
          this.destroy();
          const data = packet.data;
          const error = new Error(typeof data === "string" ? data : data && data.message);
          if (data && typeof data === "object") error.data = data.data;
          this._fire("connect_error", error);
          break;
        }
        default:
          break;
      }
    }

    _onevent(packet) {
      const args = packet.data || [];
      // Connection state recovery: the server appends the packet's offset as a last string
      // argument to every event it stores for replay (never to one that asks for an ack).
      if (this._pid && packet.id === undefined && args.length > 1 && typeof args[args.length - 1] === "string") {
        this._lastOffset = args.pop();
      }
      if (packet.id !== undefined) args.push(this.ack(packet.id));
      if (this.connected) this._emitEvent(args);
      else this.receiveBuffer.push(Object.freeze(args));
    }

    _emitEvent(args) {
      for (const listener of this._anyListeners.slice()) callListener(listener, this, args);
      this._fire.apply(this, args);
    }

    ack(id) {
      let sent = false;
      return (...args) => {
        if (sent) return;
        sent = true;
        this.packet({ type: PacketType.ACK, id, data: args });
      };
    }

    _onack(packet) {
      const ack = this.acks[packet.id];
      if (typeof ack !== "function") return;
      delete this.acks[packet.id];
      const data = packet.data || [];
      if (ack.withError) data.unshift(null);
      callListener(ack, this, data);
    }

    _onconnect(id, pid) {
      clearTimeout(this._connectTimer);
      this._awaitingConnect = false;
      this.id = id;
      this.recovered = !!(pid && this._pid === pid);
      this._pid = pid;
      this.connected = true;
      this._emitBuffered();
      this._fire("connect");
      this._drainQueue(true);
    }

    _emitBuffered() {
      for (const args of this.receiveBuffer) this._emitEvent(args.slice());
      this.receiveBuffer = [];
      const buffered = this.sendBuffer;
      this.sendBuffer = [];
      for (const packet of buffered) {
        this._notifyOutgoing(packet);
        this.packet(packet);
      }
    }

    _ondisconnect() {
      this.destroy();
      this._onclose("io server disconnect");
    }

    destroy() {
      if (this.subs) {
        for (const unsubscribe of this.subs) unsubscribe();
        this.subs = undefined;
      }
      this.io._destroy(this);
    }

    disconnect() {
      if (this.connected) this.packet({ type: PacketType.DISCONNECT });
      this.destroy();
      if (this.connected) this._onclose("io client disconnect");
      clearTimeout(this._connectTimer);
      return this;
    }

    close() {
      return this.disconnect();
    }

    compress(value) {
      this.flags.compress = value;
      return this;
    }

    timeout(ms) {
      this.flags.timeout = ms;
      return this;
    }

    onAny(listener) {
      this._anyListeners.push(listener);
      return this;
    }

    prependAny(listener) {
      this._anyListeners.unshift(listener);
      return this;
    }

    offAny(listener) {
      if (!listener) this._anyListeners = [];
      else this._anyListeners = this._anyListeners.filter((l) => l !== listener);
      return this;
    }

    listenersAny() {
      return this._anyListeners.slice();
    }

    onAnyOutgoing(listener) {
      this._anyOutgoingListeners.push(listener);
      return this;
    }

    prependAnyOutgoing(listener) {
      this._anyOutgoingListeners.unshift(listener);
      return this;
    }

    offAnyOutgoing(listener) {
      if (!listener) this._anyOutgoingListeners = [];
      else this._anyOutgoingListeners = this._anyOutgoingListeners.filter((l) => l !== listener);
      return this;
    }

    listenersAnyOutgoing() {
      return this._anyOutgoingListeners.slice();
    }

    _notifyOutgoing(packet) {
      if (this._anyOutgoingListeners.length === 0) return;
      for (const listener of this._anyOutgoingListeners.slice()) callListener(listener, this, packet.data);
    }
  }

  // ---------------------------------------------------------------------------------------
  // io(): one cached Manager per origin and path
  // ---------------------------------------------------------------------------------------

  const cache = {};

  function parseUri(uri) {
    const location = typeof root.location === "object" ? root.location : null;
    if (uri === undefined || uri === null) uri = location ? location.protocol + "//" + location.host : "";
    uri = String(uri);
    if (uri.startsWith("//")) uri = (location ? location.protocol : "https:") + uri;
    else if (uri.startsWith("/")) uri = (location ? location.host : "localhost") + uri;
    if (!/^(https?|wss?):\/\//i.test(uri)) uri = (location ? location.protocol : "https:") + "//" + uri;
    const url = new URL(uri);
    const scheme = url.protocol === "wss:" ? "https:" : url.protocol === "ws:" ? "http:" : url.protocol;
    const port = url.port || (scheme === "https:" ? "443" : "80");
    return {
      source: uri,
      origin: scheme + "//" + url.hostname + ":" + port,
      nsp: url.pathname || "/",
      query: url.search ? url.search.slice(1) : "",
    };
  }

  function lookup(uri, opts) {
    if (uri && typeof uri === "object") {
      opts = uri;
      uri = undefined;
    }
    opts = Object.assign({}, opts || {});
    const parsed = parseUri(uri);
    const path = opts.path || "/socket.io";
    const key = parsed.origin + " " + path;
    if (parsed.query && !opts.query) opts.query = parsed.query;
    const cached = cache[key];
    const sameNamespace = cached && parsed.nsp in cached.nsps;
    const fresh = opts.forceNew || opts["force new connection"] || opts.multiplex === false || sameNamespace;
    let manager;
    if (fresh) {
      manager = new Manager(parsed.source, opts);
    } else {
      if (!cache[key]) cache[key] = new Manager(parsed.source, opts);
      manager = cache[key];
    }
    return manager.socket(parsed.nsp, opts);
  }

  Object.assign(lookup, {
    Manager,
    Socket,
    io: lookup,
    connect: lookup,
    protocol: 5,
    Engine: EngineSocket,
    // Exposed for tests and tools; not part of the official API.
    parser: { Encoder, Decoder, PacketType },
    engineParser: {
      encodePacket: encodeEnginePacket,
      decodePacket: decodeEnginePacket,
      encodePayload: encodeEnginePayload,
      decodePayload: decodeEnginePayload,
    },
  });

  if (typeof module === "object" && module && typeof module.exports === "object") {
    module.exports = lookup;
  } else {
    root.io = lookup;
  }
})(typeof globalThis !== "undefined" ? globalThis : typeof self !== "undefined" ? self : this);
