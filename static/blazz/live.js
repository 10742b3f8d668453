// The one websocket client of the UI (no framework). /ws/events/ carries the workspace's
// {"event", "payload"} messages; services send them only after commit, so what arrives is
// already in the database. Events missed while the socket was down are not replayed: pages
// register an onReconnect callback that re-reads their live regions from the server.
//
//   var live = BlazzLive.connect();          // one socket per page, however often called
//   live.on("message.ack", fn);              // exact type; also "message.*" or "*"
//   live.on(["session.status", "session.qr"], fn);   // fn(event, payload)
//   live.onReconnect(fn);                    // once subscribed, and again after every drop
//   live.onStatus(fn);                       // fn("connecting" | "live" | "reconnecting" | "closed")
//
// The state is shown on every [data-live-status] element of the page (text, class and
// data-state); a page with none gets a small indicator in the corner.
(function () {
  "use strict";

  var PATH = "/ws/events/";
  // 4401/4403: logged out or no longer a member of the workspace; 4409: this browser now
  // acts in another workspace or with another role (accounts/consumers.py). Retrying cannot
  // help: the page itself is out of date.
  var FINAL_CODES = [4401, 4403, 4409];
  var TEXT = { connecting: "Connecting…", live: "● Live", reconnecting: "Reconnecting…", closed: "Offline: reload the page" };
  // Borrows the status badge colours of app.css (green, yellow, red).
  var BADGE = { connecting: "qr_scanning", live: "connected", reconnecting: "qr_scanning", closed: "disconnected" };

  var client = null;

  function indicators() {
    var found = document.querySelectorAll("[data-live-status]");
    if (found.length) return found;
    var pill = document.createElement("span");
    pill.setAttribute("data-live-status", "");
    pill.setAttribute("role", "status");
    pill.setAttribute("aria-live", "polite");
    pill.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:10;box-shadow:0 1px 3px rgba(0,0,0,.15)";
    document.body.appendChild(pill);
    return [pill];
  }

  function showState(state) {
    var elements = indicators();
    for (var i = 0; i < elements.length; i++) {
      var el = elements[i];
      el.className = "badge live-status " + BADGE[state];
      el.setAttribute("data-state", state);
      el.textContent = TEXT[state];
      el.title = state === "live" ? "Updates appear as they happen" : "Live updates are paused";
    }
  }

  function matches(pattern, event) {
    if (pattern === "*" || pattern === event) return true;
    var n = pattern.length;
    return n > 2 && pattern.slice(n - 2) === ".*" && event.indexOf(pattern.slice(0, n - 1)) === 0;
  }

  function create() {
    var subscribers = []; // [pattern, handler]
    var reconnectHandlers = [];
    var statusHandlers = [];
    var state = null;
    var attempts = 0;

    function setState(next) {
      if (next === state) return;
      state = next;
      showState(next);
      statusHandlers.forEach(function (fn) { fn(next); });
    }

    function dispatch(event, payload) {
      subscribers.forEach(function (s) {
        if (!matches(s[0], event)) return;
        try { s[1](event, payload); } catch (e) { if (window.console) console.error(e); }
      });
    }

    function open() {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + window.location.host + PATH);
      socket.onopen = function () {
        attempts = 0;
        setState("live");
        // Catch up on every open, the first one included: an event published between the
        // server rendering the page and this subscription (a reply marked sent 100 ms after
        // the form posted, the first QR of a new number) would otherwise be lost for good.
        reconnectHandlers.forEach(function (fn) { fn(); });
      };
      socket.onmessage = function (message) {
        var data;
        try { data = JSON.parse(message.data); } catch (e) { return; }
        if (data && typeof data.event === "string") dispatch(data.event, data.payload);
      };
      socket.onclose = function (e) {
        if (FINAL_CODES.indexOf(e.code) !== -1) { setState("closed"); return; }
        attempts += 1;
        setState("reconnecting");
        // Exponential backoff with jitter, capped at 30 s, so a restarting server is not
        // hammered by every open tab at once.
        var delay = Math.min(30000, 500 * Math.pow(2, Math.min(attempts, 6))) * (0.5 + Math.random() / 2);
        setTimeout(open, delay);
      };
    }

    setState("connecting");
    open();

    return {
      on: function (types, handler) {
        (Array.isArray(types) ? types : [types]).forEach(function (t) { subscribers.push([t, handler]); });
        return this;
      },
      onReconnect: function (fn) {
        reconnectHandlers.push(fn);
        if (state === "live") fn(); // registered after the socket opened: catch up now
        return this;
      },
      onStatus: function (fn) { statusHandlers.push(fn); if (state) fn(state); return this; },
      state: function () { return state; },
    };
  }

  // The one way a live page re-reads itself: fetch this URL and swap every [data-swap]
  // region for the server's current version. `gone` runs instead when the page's object no
  // longer exists (404); `after(freshDocument)` runs after a swap. Offline: nothing happens,
  // and the next event or the reconnect tries again.
  function swapRegions(options) {
    var opts = options || {};
    return fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (r.status === 404 && opts.gone) {
          opts.gone();
          return null;
        }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-swap]").forEach(function (old) {
          var next = fresh.querySelector('[data-swap="' + old.getAttribute("data-swap") + '"]');
          if (next) old.replaceWith(document.importNode(next, true));
        });
        if (opts.after) opts.after(fresh);
      })
      .catch(function () { /* offline */ });
  }

  window.BlazzLive = {
    connect: function () {
      if (!client) client = create();
      return client;
    },
    swapRegions: swapRegions,
  };
})();
