// Live parts of the shared inbox (no framework). The workspace's websocket (live.js, loaded
// first) carries message.received / message.sent / message.ack / message.failed after commit.
// Ticks update in place; a message this page has not shown yet (or a change to the list)
// makes the page re-read its [data-swap] regions from the server, so the HTML is rendered
// in one place (the templates). An open conversation is marked read by an explicit POST,
// only while the page is visible: a background tab never marks unseen messages read.
(function () {
  "use strict";

  var root = document.querySelector("[data-inbox]");
  if (!root) return;
  var page = root.getAttribute("data-inbox"); // "list" or "conversation"
  var contactUuid = root.getAttribute("data-contact");
  var TICKS = { pending: "⏳", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "✗" };
  var LABELS = { pending: "Pending", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Failed" };

  var swapTimer = null;
  function refreshRegions() {
    clearTimeout(swapTimer);
    swapTimer = setTimeout(function () {
      BlazzLive.swapRegions({
        after: function () {
          if (page !== "conversation") return;
          window.scrollTo(0, document.body.scrollHeight);
          markReadIfSeen(); // what just appeared is on screen
        },
      });
    }, 250);
  }

  function setTick(el, status, error) {
    el.className = "tick " + status;
    el.textContent = TICKS[status] || status;
    el.title = (LABELS[status] || status) + (error ? ": " + error : "");
  }

  function onEvent(event, p) {
    if (!p || !p.uuid) return;
    if (page === "list") {
      if (event === "message.received" || event === "message.sent") refreshRegions();
      return;
    }
    var item = root.querySelector('[data-chat="' + p.uuid + '"]');
    if (item) {
      var tick = item.querySelector("[data-tick]");
      // message.failed carries only uuid and error.
      if (tick) setTick(tick, event === "message.failed" ? "failed" : p.status, p.error);
      return;
    }
    // Not on the page yet: a new message of this contact (failed payloads have no contact).
    if (p.contact && p.contact.uuid === contactUuid) refreshRegions();
  }

  if (page === "conversation") {
    window.scrollTo(0, document.body.scrollHeight);
    // Enter sends, Shift+Enter is a new line.
    var box = root.querySelector("textarea[name=body]");
    if (box) {
      box.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing && box.value.trim()) {
          e.preventDefault();
          box.form.requestSubmit();
        }
      });
    }
  }

  // --- Read marks: only what someone can see -------------------------------------------------
  var readUrl = root.getAttribute("data-read-url");
  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }
  function markReadIfSeen() {
    if (!readUrl || document.visibilityState !== "visible") return;
    fetch(readUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
    }).catch(function () { /* offline: the next view marks it */ });
  }
  if (page === "conversation") {
    markReadIfSeen();
    document.addEventListener("visibilitychange", markReadIfSeen);
  }

  BlazzLive.connect()
    .on("message.*", onEvent)
    .on("media.ready", refreshRegions) // a photo or voice note "Downloading…" has its bytes
    .onReconnect(refreshRegions); // catch up with what happened while we were away
})();
