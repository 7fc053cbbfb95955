// Only test.html loads this script. It proves that scripts run: it fills in the
// paragraph below and counts the clicks on the button.
"use strict";

const scriptStatus = document.getElementById("script-status");
const clickButton = document.getElementById("click-me");
const clickCount = document.getElementById("click-count");

scriptStatus.textContent = "test.js is running.";
scriptStatus.dataset.loaded = "yes";

let clicks = 0;
clickButton.addEventListener("click", () => {
  clicks += 1;
  clickCount.textContent = String(clicks);
});
