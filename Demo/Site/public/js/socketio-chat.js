// Example 9 in the browser: the mini-chat. The chat lives on its own namespace, /chat, so
// that the echo of examples 7 and 8 can keep the main one; the page sends with
// socket.send and shows every `message` the server passes on.
"use strict";

const statusLine = document.getElementById("status");
const form = document.getElementById("chat");
const entry = document.getElementById("entry");
const conversation = document.getElementById("messages");

const socket = io("/chat");

function setStatus(text, state) {
  statusLine.textContent = text;
  statusLine.className = state;
}

socket.on("connect", () => setStatus("Connected as " + socket.id, "open"));
socket.on("disconnect", (reason) => setStatus("Disconnected (" + reason + ")", "closed"));

socket.on("message", (text) => {
  const item = document.createElement("li");
  item.textContent = text;
  conversation.appendChild(item);
  item.scrollIntoView({ block: "nearest" });
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = entry.value.trim();
  if (text) socket.send(text);
  entry.value = "";
});
