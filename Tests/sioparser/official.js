// Drives Debian's socket.io-parser (the official codec) for test_sioparser.py.
// stdin: JSON lines {"op":"encode","packet":{...}} or {"op":"decode","text":"...","attachments":["hex",...]}
// stdout: one JSON line per request, same shapes as canal-sio-codec. Binary data is {"$binary":"hex"}.
"use strict";
const parser = require("socket.io-parser");
const readline = require("readline");

function fromWire(v) {
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "$binary") return Buffer.from(v.$binary, "hex");
    const out = {};
    for (const k of keys) out[k] = fromWire(v[k]);
    return out;
  }
  return v;
}

function toWire(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    return { $binary: Buffer.from(v.buffer ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v).toString("hex") };
  }
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v)) out[k] = toWire(v[k]);
    return out;
  }
  return v;
}

function handle(req) {
  if (req.op === "encode") {
    const p = { type: req.packet.type, nsp: req.packet.nsp || "/" };
    if (req.packet.id !== undefined) p.id = req.packet.id;
    if (req.packet.data !== undefined) p.data = fromWire(req.packet.data);
    const parts = new parser.Encoder().encode(p);
    return { ok: true, text: parts[0], attachments: parts.slice(1).map((b) => Buffer.from(b).toString("hex")) };
  }
  if (req.op === "decode") {
    const d = new parser.Decoder();
    let result = null;
    d.on("decoded", (p) => { result = p; });
    try {
      d.add(req.text);
      for (const h of req.attachments || []) d.add(Buffer.from(h, "hex"));
    } catch (e) {
      return { ok: false, error: String(e.message) };
    }
    if (!result) return { ok: false, error: "incomplete: awaiting attachments" };
    const out = { type: result.type, nsp: result.nsp };
    if (result.id !== undefined) out.id = result.id;
    if (result.data !== undefined) out.data = toWire(result.data);
    return { ok: true, packet: out };
  }
  return { ok: false, error: "unknown op" };
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line) return;
  let answer;
  try { answer = handle(JSON.parse(line)); } catch (e) { answer = { ok: false, error: "bad request: " + e.message }; }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
