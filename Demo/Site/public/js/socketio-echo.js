// Example 7 in the browser: the Socket.IO echo. The server that sent this page also
// serves /socket.io/socket.io.js, which defines io().
"use strict";

const sendButton = document.getElementById("send");
const statusLine = document.getElementById("status");
const received = document.getElementById("messages");

const socket = io();
let nextNumber = 1;

function setStatus(text, state) {
  statusLine.textContent = text;
  statusLine.className = state;
}

function show(text) {
  const item = document.createElement("li");
  item.textContent = text;  // text, never HTML: the server echoes what anyone sends
  received.appendChild(item);
}

socket.on("connect", () => {
  setStatus("Connected (socket " + socket.id + ")", "open");
  sendButton.disabled = false;
  socket.send("Hello from the browser!");
});

socket.on("message", show);

socket.on("disconnect", (reason) => {
  setStatus("Disconnected (" + reason + ")", "closed");
  sendButton.disabled = true;
});

sendButton.addEventListener("click", () => {
  socket.send("Message number " + nextNumber);
  nextNumber += 1;
});
