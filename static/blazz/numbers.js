// Live parts of the Numbers pages (no framework). The workspace's websocket (live.js, loaded
// first) carries {"event", "payload"} messages sent after commit. Events missed while the
// socket was down are not replayed: on reconnect the page re-reads its live regions instead.
(function () {
  "use strict";

  var root = document.querySelector("[data-numbers]");
  if (!root) return;
  var page = root.getAttribute("data-numbers"); // "list" or "detail"
  var sessionUuid = root.getAttribute("data-session");
  var labelsNode = document.getElementById("status-labels");
  var labels = labelsNode ? JSON.parse(labelsNode.textContent) : {};

  // --- DOM updates -------------------------------------------------------------------------

  function setBadge(el, status) {
    if (!el || !status) return;
    el.className = "badge " + status;
    el.textContent = labels[status] || status;
  }

  function setText(scope, field, value) {
    scope.querySelectorAll('[data-field="' + field + '"]').forEach(function (el) {
      el.textContent = value;
    });
  }

  function applyState(scope, p) {
    setBadge(scope.querySelector('[data-field="status"]'), p.status);
    setText(scope, "worker", p.worker || "—");
    setText(scope, "primary", p.is_primary ? "★" : "");
    if (p.phone_number) {
      setText(scope, "phone_number", p.phone_number);
      setText(scope, "name", p.phone_number);
    }
  }

  // Swaps every [data-swap] region (action buttons, timeline, the list's table) for the
  // server's current version. Debounced: a burst of events costs one request.
  var swapTimer = null;
  function refreshRegions() {
    clearTimeout(swapTimer);
    swapTimer = setTimeout(function () {
      BlazzLive.swapRegions({
        gone: page === "detail" ? function () {
          window.location.href = root.getAttribute("data-list-url"); // the number was deleted
        } : null,
        after: function (fresh) {
          if (page !== "detail") return;
          // A code that arrived before this page's socket listened comes with the re-read.
          root.querySelectorAll("[data-link-code]").forEach(function (el) {
            var box = el.closest("details");
            if (box && el.textContent.trim() !== "—") box.open = true;
          });
          var freshRoot = fresh.querySelector("[data-numbers]");
          var badge = freshRoot && freshRoot.querySelector('[data-field="status"]');
          if (badge) showPanel(badge.classList[1]);
        },
      });
    }, 300);
  }

  // --- Detail page: state panels and the QR image ----------------------------------------

  var qrImg = root.querySelector("[data-qr]");
  var qrWaiting = root.querySelector("[data-qr-waiting]");
  var qrExpiry = root.querySelector("[data-qr-expiry]");

  function showPanel(status) {
    root.querySelectorAll("[data-show]").forEach(function (panel) {
      panel.hidden = panel.getAttribute("data-show").split(" ").indexOf(status) === -1;
    });
  }

  function showQr(expiresAt) {
    if (!qrImg) return;
    // A new URL makes the browser fetch the rotated code; the old image stays on screen
    // until the new one has loaded, so the code never blinks out while someone scans.
    var url = root.getAttribute("data-qr-url") + "?v=" + encodeURIComponent(expiresAt || String(Date.now()));
    var loader = new Image();
    loader.onload = function () {
      qrImg.src = url;
      qrImg.hidden = false;
      if (qrWaiting) qrWaiting.hidden = true;
    };
    loader.src = url;
    if (qrExpiry) qrExpiry.setAttribute("data-expires", expiresAt || "");
  }

  function tickExpiry() {
    if (!qrExpiry) return;
    var at = Date.parse(qrExpiry.getAttribute("data-expires") || "");
    if (isNaN(at)) { qrExpiry.textContent = ""; return; }
    var left = Math.round((at - Date.now()) / 1000);
    qrExpiry.textContent = left > 0
      ? "This code changes in " + left + " s."
      : "This code has expired; a new one should appear in a moment (or use Refresh QR).";
  }

  if (qrImg) {
    qrImg.addEventListener("error", function () {
      // No QR right now (connected meanwhile, or the code was cleared): say so, not a broken image.
      qrImg.hidden = true;
      if (qrWaiting) qrWaiting.hidden = false;
    });
  }

  function onDetailEvent(event, p) {
    if (p.uuid !== sessionUuid) return;
    applyState(root, p);
    if (event === "session.link_code") {
      root.querySelectorAll("[data-link-code]").forEach(function (el) {
        el.textContent = p.link_code;
        var box = el.closest("details");
        if (box) box.open = true; // the code is what the admin is waiting for: show it
      });
      return;
    }
    if (event === "session.qr") {
      showPanel("qr_scanning");
      showQr(p.qr_expires_at);
      return;
    }
    if (event === "session.status") {
      showPanel(p.status);
      if (p.status === "connected" && qrImg) {
        // The old code must not stay scannable once the number is linked.
        qrImg.removeAttribute("src");
        qrImg.hidden = true;
        if (qrExpiry) qrExpiry.setAttribute("data-expires", "");
      }
    }
    refreshRegions(); // buttons that fit the new status, and the new timeline line
  }

  // --- List page -------------------------------------------------------------------------

  function onListEvent(event, p) {
    var row = root.querySelector('tr[data-session="' + p.uuid + '"]');
    if (!row) { refreshRegions(); return; } // a number added elsewhere
    if (event === "session.primary" && p.is_primary) {
      root.querySelectorAll('[data-field="primary"]').forEach(function (el) { el.textContent = ""; });
    }
    applyState(row, p);
    // A deleted number is reported as stopped; re-read the list so it disappears.
    if (event === "session.status" && p.status === "stopped") refreshRegions();
  }

  // --- Confirmations for destructive buttons ------------------------------------------------

  document.addEventListener("submit", function (e) {
    var question = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) e.preventDefault();
  });

  if (page === "detail") setInterval(tickExpiry, 1000);
  tickExpiry();

  BlazzLive.connect()
    .on("*", function (event, p) {
      if (!p || !p.uuid) return;
      if (page === "detail") onDetailEvent(event, p);
      else onListEvent(event, p);
    })
    .onReconnect(refreshRegions); // catch up with what happened while we were away
})();
