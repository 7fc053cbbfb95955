// The browser side of the echo example: opens a WebSocket to the server that served
// this page, sends a greeting as soon as it is open, sends a numbered message each time
// the button is pressed, and lists every message that comes back.
"use strict";

const sendButton = document.getElementById("send");
const statusLine = document.getElementById("status");
const received = document.getElementById("messages");

// Same host and port as the page; wss:// when the page came over https://.
const endpoint = new URL("/echo", window.location.href);
endpoint.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";

const socket = new WebSocket(endpoint);
let nextNumber = 1;

function setStatus(text, state) {
  statusLine.textContent = text;
  statusLine.className = state;
}

socket.addEventListener("open", () => {
  setStatus("Connected to " + endpoint.href, "open");
  sendButton.disabled = false;
  socket.send("Hello from the browser!");
});

socket.addEventListener("message", (event) => {
  const item = document.createElement("li");
  item.textContent = event.data;  // text, never HTML: the server echoes what anyone sends
  received.appendChild(item);
});

socket.addEventListener("close", (event) => {
  setStatus("Connection closed (code " + event.code + ")", "closed");
  sendButton.disabled = true;
});

sendButton.addEventListener("click", () => {
  socket.send("Message number " + nextNumber);
  nextNumber += 1;
});
