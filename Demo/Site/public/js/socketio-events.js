// Example 8 in the browser: the echo of example 7, plus a `tic` event every second that
// the server only logs.
"use strict";

const sendButton = document.getElementById("send");
const statusLine = document.getElementById("status");
const received = document.getElementById("messages");
const ticLine = document.getElementById("tics");

const socket = io();
let nextNumber = 1;
let nextTic = 1;

function setStatus(text, state) {
  statusLine.textContent = text;
  statusLine.className = state;
}

socket.on("connect", () => {
  setStatus("Connected (socket " + socket.id + ")", "open");
  sendButton.disabled = false;
  socket.send("Hello from the browser!");
});

socket.on("message", (text) => {
  const item = document.createElement("li");
  item.textContent = text;
  received.appendChild(item);
});

socket.on("disconnect", (reason) => {
  setStatus("Disconnected (" + reason + ")", "closed");
  sendButton.disabled = true;
});

sendButton.addEventListener("click", () => {
  socket.send("Message number " + nextNumber);
  nextNumber += 1;
});

// A tic a second, on an event of its own. While offline the client keeps them (up to its
// bound) and sends them once it is back.
setInterval(() => {
  socket.emit("tic", "tic " + nextTic);
  ticLine.textContent = "Last tic sent: " + nextTic;
  nextTic += 1;
}, 1000);
