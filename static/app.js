// Small behaviours htmx does not cover. No inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";
  // A request that never reached the server (network down) would otherwise fail silently.
  document.addEventListener("htmx:sendError", function () {
    var messages = document.getElementById("messages");
    if (!messages) return;
    var p = document.createElement("p");
    p.className = "flash flash-error";
    p.setAttribute("role", "alert");
    p.textContent = document.documentElement.lang === "ja"
      ? "サーバーに接続できませんでした。ネットワークを確認して、もう一度お試しください。"
      : "The server could not be reached. Check the network and try again.";
    messages.replaceChildren(p);
  });
})();
