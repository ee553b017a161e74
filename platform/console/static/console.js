// Pause and resume buttons call the node's REST API (PUT
// /connectors/{name}/pause, /pipelines/{name}/resume, ...) and reload the
// page, which then shows the new state. No framework, no build step.
(function () {
  "use strict";
  document.querySelectorAll("button[data-action]").forEach(function (b) {
    b.addEventListener("click", function () {
      var url = "/" + b.dataset.kind + "/" + encodeURIComponent(b.dataset.name) + "/" + b.dataset.action;
      b.disabled = true;
      fetch(url, { method: "PUT", credentials: "same-origin" }).then(function (r) {
        if (!r.ok) {
          return r.text().then(function (t) { throw new Error(r.status + " " + t); });
        }
        setTimeout(function () { location.reload(); }, 500);
      }).catch(function (e) {
        b.disabled = false;
        var msg = document.getElementById("action-error");
        if (msg) { msg.textContent = "could not " + b.dataset.action + " " + b.dataset.name + ": " + e.message; msg.hidden = false; }
      });
    });
  });
  // Pages that ask for it refresh themselves, so lag and states stay current.
  var every = document.body.dataset.refresh;
  if (every) { setTimeout(function () { location.reload(); }, Number(every) * 1000); }
})();
