// The web UI's only script, and an optional one: every page works without it. On the page that
// waits for a fresh snapshot it long-polls the request (each answer is held up to 25 s) and
// opens the report as soon as the snapshot has arrived; without script, the page refreshes
// itself every few seconds instead.
(function () {
  "use strict";

  var status = document.getElementById("request-status");
  if (!status || !status.dataset.wait) {
    return;
  }
  var waitUrl = status.dataset.wait;

  // The server shows an expired request, a lost session or an error better than this script
  // can: reload and let it.
  function reloadSoon() {
    window.setTimeout(function () {
      window.location.reload();
    }, 3000);
  }

  function poll() {
    fetch(waitUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (request) {
        if (request.status === "done" && request.snapshot_id) {
          status.textContent = "arrived, opening the report…";
          window.location.assign("/snapshots/" + encodeURIComponent(request.snapshot_id));
        } else if (request.status === "expired") {
          window.location.reload();
        } else {
          poll();
        }
      })
      .catch(reloadSoon);
  }

  poll();
})();
