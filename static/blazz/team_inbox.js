// The team inbox page (no framework; live.js is loaded first). The HTML is rendered by the
// server only: a message, assignment, status or note event makes the page re-read its
// [data-swap] regions, so two agents on one conversation see the same thing. The open
// conversation is marked read by an explicit POST, only while the page is visible. Drafts
// survive a reload (localStorage, per conversation); "/" in the reply box offers quick
// replies, filled in for this contact by the server.
(function () {
  "use strict";

  var root = document.querySelector("[data-team-inbox]");
  if (!root) return;
  var conversationUuid = root.getAttribute("data-conversation");
  var TICKS = { pending: "⏳", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "✗" };
  var LABELS = { pending: "Pending", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Failed" };

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function scrollThreadToEnd() {
    var pane = root.querySelector(".ti-scroll");
    if (pane) pane.scrollTop = pane.scrollHeight;
  }

  // --- Live updates -----------------------------------------------------------------------
  var swapTimer = null;
  function refreshRegions() {
    clearTimeout(swapTimer);
    swapTimer = setTimeout(function () {
      BlazzLive.swapRegions({
        after: function () {
          bindAutosubmit();
          scrollThreadToEnd();
          markReadIfSeen();
        },
      });
    }, 250);
  }

  function setTick(el, status, error) {
    el.className = "tick " + status;
    el.textContent = TICKS[status] || status;
    el.title = (LABELS[status] || status) + (error ? ": " + error : "");
  }

  function onMessage(event, p) {
    if (!p || !p.uuid) return;
    var item = root.querySelector('[data-chat="' + p.uuid + '"]');
    var tick = item && item.querySelector("[data-tick]");
    if (tick && event !== "message.received") {
      // message.failed carries only uuid and error.
      setTick(tick, event === "message.failed" ? "failed" : p.status, p.error);
      if (event === "message.ack") return;
    }
    refreshRegions();
  }

  // --- Read marks: only what someone can see -------------------------------------------------
  var readUrl = root.getAttribute("data-read-url");
  function markReadIfSeen() {
    if (!readUrl || document.visibilityState !== "visible") return;
    var row = root.querySelector('[data-conversation-row="' + conversationUuid + '"]');
    if (row && !row.classList.contains("unread")) return;
    fetch(readUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
    }).catch(function () { /* offline: the next view marks it */ });
  }

  // --- Status and assignee selects submit on change ---------------------------------------------
  function bindAutosubmit() {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      if (select.dataset.bound) return;
      select.dataset.bound = "1";
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
  }

  // --- Reply box: drafts, Enter to send, quick replies, number warning ---------------------------
  var form = root.querySelector("form[data-testid=reply]");
  var box = form && form.querySelector("textarea[name=body]");
  if (box) {
    var draftKey = "blazz-draft-" + box.getAttribute("data-draft");
    try {
      if (!box.value && localStorage.getItem(draftKey)) box.value = localStorage.getItem(draftKey);
    } catch (e) { /* storage disabled */ }
    box.addEventListener("input", function () {
      try {
        if (box.value) localStorage.setItem(draftKey, box.value);
        else localStorage.removeItem(draftKey);
      } catch (e) { /* storage full or disabled */ }
      showQuickReplies();
    });
    form.addEventListener("submit", function () {
      try { localStorage.removeItem(draftKey); } catch (e) { /* ignore */ }
    });
    box.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && box.value.trim()) {
        var only = visibleQuickReplies();
        e.preventDefault();
        if (/^\/[\w-]*$/.test(box.value) && only.length === 1) insertQuickReply(only[0].getAttribute("data-shortcut"));
        else form.requestSubmit();
      }
    });
  }

  var quickList = root.querySelector("[data-quick-replies]");
  function visibleQuickReplies() {
    if (!quickList || quickList.hidden) return [];
    return Array.prototype.filter.call(quickList.querySelectorAll("[data-shortcut]"), function (b) {
      return !b.parentNode.hidden;
    });
  }
  function showQuickReplies() {
    if (!quickList) return;
    var match = /^\/([\w-]*)$/.exec(box.value);
    if (!match) { quickList.hidden = true; return; }
    var any = false;
    quickList.querySelectorAll("li").forEach(function (li) {
      var shortcut = li.querySelector("[data-shortcut]").getAttribute("data-shortcut");
      li.hidden = shortcut.indexOf(match[1].toLowerCase()) !== 0;
      any = any || !li.hidden;
    });
    quickList.hidden = !any;
  }
  function insertQuickReply(shortcut) {
    var url = root.getAttribute("data-quick-reply-url") + "?shortcut=" + encodeURIComponent(shortcut);
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        if (answer.text) {
          box.value = answer.text;
          box.dispatchEvent(new Event("input"));
          quickList.hidden = true;
        } else if (answer.error) {
          window.alert(answer.error);
        }
        box.focus();
      })
      .catch(function () { /* offline */ });
  }
  if (quickList) {
    quickList.addEventListener("click", function (e) {
      var button = e.target.closest("[data-shortcut]");
      if (button) insertQuickReply(button.getAttribute("data-shortcut"));
    });
  }

  var numberSelect = form && form.querySelector("select[name=session]");
  var warning = form && form.querySelector("[data-reply-warning]");
  if (numberSelect && warning) {
    numberSelect.addEventListener("change", function () {
      var last = form.getAttribute("data-last-inbound");
      var option = numberSelect.options[numberSelect.selectedIndex];
      if (!last || option.value === last) {
        warning.hidden = true;
        return;
      }
      warning.textContent = "The customer last wrote to " + form.getAttribute("data-last-inbound-phone") +
        "; this reply leaves from " + option.getAttribute("data-phone") + " and appears in another chat on their phone.";
      warning.hidden = false;
    });
  }

  bindAutosubmit();
  scrollThreadToEnd();
  markReadIfSeen();
  document.addEventListener("visibilitychange", markReadIfSeen);
  BlazzLive.connect()
    .on("message.*", onMessage)
    .on("conversation.*", refreshRegions)
    .onReconnect(refreshRegions); // catch up with what happened while we were away
})();
