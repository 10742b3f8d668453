// Live parts of the Campaigns pages (no framework). The workspace's websocket (live.js,
// loaded first) carries its {"event", "payload"} messages; the dispatch tick publishes `campaign.progress`
// (counts per status and % done) after each commit that moved a campaign's recipients, so
// the bar and the counts, totals and per number, follow the database. The rest of the
// per-number table, the failed list and the buttons are re-read from the server (debounced). Events missed
// while the socket was down are not replayed: on reconnect the page re-reads itself.
(function () {
  "use strict";

  var root = document.querySelector("[data-campaigns]");
  if (!root) return;
  var page = root.getAttribute("data-campaigns"); // "list" or "detail"
  var campaignUuid = root.getAttribute("data-campaign");
  var LABELS = {
    draft: "Draft", scheduled: "Scheduled", running: "Running", paused: "Paused",
    completed: "Completed", cancelled: "Cancelled"
  };
  var COUNTS = ["success", "failed", "skipped", "ongoing", "pending", "total"];

  function setField(scope, field, value) {
    scope.querySelectorAll('[data-field="' + field + '"]').forEach(function (el) {
      if (field === "progress") el.value = value;
      else el.textContent = value;
    });
  }

  function apply(scope, p) {
    var badge = scope.querySelector('[data-field="status"]');
    var statusChanged = false;
    if (badge && p.status) {
      statusChanged = badge.className !== "badge campaign-" + p.status;
      badge.className = "badge campaign-" + p.status;
      badge.textContent = LABELS[p.status] || p.status;
    }
    setField(scope, "progress", p.percent);
    setField(scope, "percent", String(p.percent));
    COUNTS.forEach(function (name) {
      if (typeof p[name] === "number") setField(scope, name, p[name]);
    });
    // The per-number rows move in the same event as the totals, so they always agree; the
    // slower region re-read below only adds what the event does not carry (throughput).
    Object.keys(p.by_number || {}).forEach(function (number) {
      var row = scope.querySelector('tr[data-number="' + number + '"]');
      if (!row) return;
      ["total", "success", "failed", "waiting"].forEach(function (name) {
        var cell = row.querySelector('[data-number-field="' + name + '"]');
        if (cell) cell.textContent = p.by_number[number][name];
      });
    });
    return statusChanged;
  }

  // Swaps every [data-swap] region for the server's current version. Debounced and spaced:
  // a campaign sending every second costs at most one request every few seconds.
  var swapTimer = null;
  var lastSwap = 0;
  function refreshRegions(soon) {
    if (swapTimer) return;
    var wait = soon ? 300 : Math.max(300, 3000 - (Date.now() - lastSwap));
    swapTimer = setTimeout(function () {
      swapTimer = null;
      lastSwap = Date.now();
      BlazzLive.swapRegions({
        gone: page === "detail" ? function () {
          window.location.href = root.getAttribute("data-list-url"); // the campaign was deleted
        } : null,
      });
    }, wait);
  }

  // A long recipient list imported in the background: its bar follows each batch, and the
  // notices (the finished import, the start button) are re-read once it is done.
  function onImport(p) {
    if (page !== "detail" || p.uuid !== campaignUuid) return;
    setField(root, "import-processed", p.processed);
    root.querySelectorAll('[data-field="import-progress"]').forEach(function (el) { el.value = p.processed; });
    if (p.status !== "running" && p.status !== "pending") refreshRegions(true);
  }

  function onEvent(event, p) {
    if (event === "campaign.import") { onImport(p); return; }
    if (event !== "campaign.progress" && event !== "campaign.deleted") return;
    if (page === "detail") {
      if (p.uuid !== campaignUuid) return;
      if (event === "campaign.deleted") {
        window.location.href = root.getAttribute("data-list-url");
        return;
      }
      var changed = apply(root, p);
      refreshRegions(changed); // buttons for a new status at once; tables at a calm pace
      return;
    }
    var row = root.querySelector('tr[data-campaign="' + p.uuid + '"]');
    if (!row) { refreshRegions(true); return; } // created or deleted elsewhere
    apply(row, p);
  }

  // The workspace's websocket is live.js's; after a drop, re-read what changed meanwhile.
  BlazzLive.connect()
    .on(["campaign.progress", "campaign.deleted", "campaign.import"], function (event, payload) {
      if (payload && payload.uuid) onEvent(event, payload);
    })
    .onReconnect(function () { refreshRegions(true); });

  // --- Confirmations for destructive buttons ------------------------------------------------

  document.addEventListener("submit", function (e) {
    var question = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) e.preventDefault();
  });

})();
