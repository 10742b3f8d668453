// The team inbox page (no framework; live.js is loaded first). The HTML is rendered by the
// server only: a message, assignment, status or note event makes the page re-read its
// [data-swap] regions, so two agents on one conversation see the same thing. The open
// conversation is marked read by an explicit POST, only while the page is visible. Drafts
// survive a reload (localStorage, per conversation); "/" in the reply box offers quick
// replies, filled in for this contact by the server. A file attached in the reply box is
// uploaded with progress (XHR) and the reply text as its caption; a voice note or video that
// is playing keeps playing, and a photo already loaded stays, when the thread is re-read.
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
      var media = mediaBlocks();
      BlazzLive.swapRegions({
        after: function () {
          keepMedia(media);
          bindAutosubmit();
          scrollThreadToEnd();
          markReadIfSeen();
        },
      });
    }, 250);
  }

  // A re-read replaces the whole thread, which would stop a voice note mid-sentence and load
  // every photo again (each render signs its links anew, so the browser's cache cannot help).
  // What shows the same file as its fresh copy (same data-media-key) is kept instead: a player
  // that has started, whole; a photo already loaded, its <img> (the fresh link around it, whose
  // signature is newer). Whether a player has started is asked only once the swap is done (play
  // may be pressed while the page is being fetched), in the same task as the swap: the browser
  // pauses media removed from the document only after that task ("removed from a Document"
  // awaits a stable state), so a player moved back never stops.
  function mediaBlocks() {
    return Array.prototype.slice.call(root.querySelectorAll("[data-chat] [data-media-key]"));
  }
  function keepMedia(blocks) {
    blocks.forEach(function (block) {
      var uuid = block.closest("[data-chat]").getAttribute("data-chat");
      var fresh = root.querySelector('[data-chat="' + uuid + '"] [data-media-key]');
      if (!fresh || fresh === block || fresh.getAttribute("data-media-key") !== block.getAttribute("data-media-key")) {
        return;
      }
      var player = block.querySelector("audio, video");
      var image = block.querySelector("img");
      var freshImage = fresh.querySelector("img");
      if (player && (!player.paused || player.currentTime > 0)) fresh.replaceWith(block);
      else if (image && image.complete && image.naturalWidth > 0 && freshImage) freshImage.replaceWith(image);
    });
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

  // --- Attachments: a file with the reply text as its caption ---------------------------------
  var fileInput = form && form.querySelector("[data-attach-input]");
  if (fileInput) {
    var kindChoice = form.querySelector("[data-attach-kind]");
    var sendAs = form.querySelector("select[name=send_as]");
    var clearButton = form.querySelector("[data-attach-clear]");
    var attachError = form.querySelector("[data-attach-error]");
    var progress = form.querySelector("[data-upload-progress]");
    var sendButton = form.querySelector("button[type=submit]");
    var uploading = false;

    var showAttachError = function (text) {
      attachError.textContent = text || "";
      attachError.hidden = !text;
    };
    var humanSize = function (bytes) {
      var units = ["bytes", "KB", "MB", "GB"];
      var i = 0;
      while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
      return (i ? bytes.toFixed(1) : bytes) + " " + units[i];
    };
    // Spares a doomed upload; the server has the last word. As for the API, a file sent as
    // whatever its bytes are may be as large as a document (too large for a photo, it goes as
    // a document); a voice note is audio.
    var limitFor = function () {
      return Number(form.getAttribute(sendAs.value === "ptt" ? "data-max-audio" : "data-max-document")) || 0;
    };
    var fileChanged = function () {
      var file = fileInput.files[0];
      showAttachError("");
      kindChoice.hidden = !file;
      clearButton.hidden = !file;
      box.required = !file; // a photo or a document may go without a caption
    };
    var finishUpload = function () {
      uploading = false;
      sendButton.disabled = false;
      progress.hidden = true;
    };
    var upload = function () {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "fetch");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        progress.hidden = false;
        progress.value = Math.round((100 * e.loaded) / e.total);
      });
      xhr.onload = function () {
        var answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch (e) { /* the 413 of the body cap is text */ }
        if (xhr.status === 200 && answer && answer.redirect) {
          fileInput.value = "";
          window.location.assign(answer.redirect);
          return;
        }
        finishUpload();
        if (answer && answer.error) showAttachError(answer.error);
        else if (xhr.status === 413) showAttachError("The file is too large to send.");
        else showAttachError("The file could not be sent (HTTP " + xhr.status + "); try again.");
      };
      xhr.onerror = function () {
        finishUpload();
        showAttachError("The upload stopped: the file may be too large, or the connection dropped. Try again.");
      };
      uploading = true;
      sendButton.disabled = true;
      progress.value = 0;
      progress.hidden = false;
      showAttachError("");
      xhr.send(new FormData(form));
    };

    kindChoice.hidden = true;
    fileInput.addEventListener("change", fileChanged);
    sendAs.addEventListener("change", function () { showAttachError(""); });
    clearButton.addEventListener("click", function () {
      fileInput.value = "";
      fileChanged();
    });
    form.addEventListener("submit", function (e) {
      var file = fileInput.files[0];
      if (!file) return; // text only: the plain POST and redirect
      e.preventDefault();
      if (uploading) return;
      var limit = limitFor();
      if (limit && file.size > limit) {
        showAttachError(file.name + " is " + humanSize(file.size) + "; the limit for this kind of file is " +
          humanSize(limit) + ".");
        return;
      }
      upload();
    });
    fileChanged();
  }

  bindAutosubmit();
  scrollThreadToEnd();
  markReadIfSeen();
  document.addEventListener("visibilitychange", markReadIfSeen);
  BlazzLive.connect()
    .on("message.*", onMessage)
    .on("conversation.*", refreshRegions)
    .on("media.*", refreshRegions) // media.ready: the bytes of a message on screen arrived
    .onReconnect(refreshRegions); // catch up with what happened while we were away
})();
