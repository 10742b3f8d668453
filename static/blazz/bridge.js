/* Blazz page bridge (DESIGN §6).
 *
 * Injected by the session driver into WhatsApp Web (after the wa-js bundle) or into the
 * simulator's page. It listens to window.WPP, queues normalised events in window.__blazz,
 * and gives the worker a small API it calls with one execute_script per tick:
 *
 *   __blazz.drain(max)           -> the oldest `max` events, NOT removed
 *   __blazz.confirm(uptoSeq)     -> removes events with seq <= uptoSeq (after the DB commit)
 *   __blazz.harvest(max)         -> {events: drain(max), state: state()} in one call
 *   __blazz.send(to, text, ms, key) -> Promise {ok, id, confirmed, ack} | {ok: false, reason}
 *   __blazz.sendRecord(key)      -> {id, confirmed} of an earlier send with that key, or null
 *   __blazz.state()              -> {authenticated, ready, auth_code, connected, heartbeat_at, now, ...}
 *   __blazz.me()                 -> "+E164" or null
 *   __blazz.probe(ms)            -> Promise {ok: true, rtt_ms} | {ok: false, reason}
 *   __blazz.quiesce(ms)          -> Promise {quiesced, unjournaled}: the page sends nothing more
 *                                   and every event it holds is journaled (the reaper's call)
 *
 * Event: {seq, type, at, payload}; type is one of auth_code, authenticated, ready, logout,
 * message, ack, connected, disconnected. seq only grows, also across page reloads: the queue
 * is mirrored to sessionStorage (WhatsApp Web reloads itself after a logout) and a queue
 * that starts empty takes its first seq from the clock.
 *
 * Messages and acks are also journaled in the origin's IndexedDB (database __blazz) and
 * drain() hands out only events whose journal write has completed. WhatsApp's servers
 * forget a message once the page has received it, so the journal is what lets a worker
 * that was killed between reading a batch and committing it find the batch again: the
 * browser's profile (and the snapshot) keep the journal, and the next bridge injected into
 * that profile re-queues it. Lifecycle events are not journaled: a new page reports its
 * own state again, and replaying an old logout or QR code would be wrong.
 *
 * Only documented wa-js calls are used; nothing here assumes the simulator.
 */
(function () {
  'use strict';
  if (window.__blazz && window.__blazz.installed) return; // idempotent: keep the one queue
  if (window.top !== window) return; // WhatsApp Web is the top document; frames are not ours

  const STORAGE_KEY = '__blazz_bridge_v1';
  const TICK_MS = 1000;
  const SEEN_IDS_MAX = 5000;
  const JOURNAL_DB = '__blazz';
  const JOURNAL_STORE = 'events';
  const JOURNALED = { message: true, ack: true };

  const bridge = {
    installed: true,
    version: 1,
    queue: [],
    seq: Date.now() * 1000,
    known: { authenticated: false, ready: false, code: null, online: null },
    heartbeatAt: Date.now(),
    lastEventAt: null,
    subscribed: false,
    lastError: null,
  };
  try {
    const saved = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || 'null');
    if (saved && Array.isArray(saved.queue) && typeof saved.seq === 'number') {
      bridge.queue = saved.queue;
      bridge.seq = Math.max(saved.seq, bridge.seq);
      bridge.known = Object.assign(bridge.known, saved.known || {}, { online: null });
    }
  } catch (e) {
    bridge.lastError = 'restore: ' + e;
  }
  window.__blazz = bridge;

  // The driver installs the bridge before the page's own scripts run (a new-document script),
  // and the bridge subscribes the moment WPP is assigned: what WhatsApp delivers right after
  // connecting (messages that arrived while this page was away) is emitted before any
  // later injection could listen, and would be gone.
  if (window.WPP === undefined) {
    let current;
    try {
      Object.defineProperty(window, 'WPP', {
        configurable: true,
        enumerable: true,
        get: () => current,
        set: (value) => {
          current = value;
          try {
            if (value && !bridge.subscribed && (typeof value.on === 'function' || (value.ev && typeof value.ev.on === 'function'))) {
              subscribe(value);
            }
          } catch (e) {
            bridge.lastError = 'early subscribe: ' + e;
          }
        },
      });
    } catch (e) {
      bridge.lastError = 'WPP hook: ' + e;
    }
  }

  let persistScheduled = false;
  function persist() {
    persistScheduled = false;
    try {
      const snapshot = { queue: bridge.queue, seq: bridge.seq, known: bridge.known };
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(snapshot));
    } catch (e) {
      bridge.lastError = 'persist: ' + e; // quota: the in-memory queue still holds the events
    }
  }
  function schedulePersist() {
    if (persistScheduled) return;
    persistScheduled = true;
    queueMicrotask(persist);
  }
  window.addEventListener('pagehide', persist);

  // --- journal (IndexedDB) ---------------------------------------------------------------
  // Seqs of events whose journal write has not completed yet; drain() stops before the first.
  const unjournaled = new Set();
  let journalBatch = [];
  let journalFlushScheduled = false;
  bridge.journal = { ready: false, enabled: false, restored: 0, writes: 0, error: null };

  function journalFailed(where, error) {
    // Without IndexedDB the page queue is all there is: better to deliver than to block.
    bridge.journal.error = where + ': ' + error;
    bridge.journal.enabled = false;
    unjournaled.clear();
  }
  const journalDb = new Promise((resolve) => {
    let request;
    try {
      request = window.indexedDB.open(JOURNAL_DB, 1);
    } catch (e) {
      resolve(null);
      return;
    }
    request.onupgradeneeded = () => request.result.createObjectStore(JOURNAL_STORE, { keyPath: 'seq' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => resolve(null);
    request.onblocked = () => resolve(null);
  }).then((db) => {
    if (!db) {
      journalFailed('open', 'IndexedDB unavailable');
      return null;
    }
    // Re-queue what an earlier page journaled and nobody confirmed. Created before any
    // write or delete of this page, so IndexedDB runs it first.
    return new Promise((resolve) => {
      const tx = db.transaction(JOURNAL_STORE, 'readonly');
      const all = tx.objectStore(JOURNAL_STORE).getAll();
      tx.oncomplete = () => {
        const known = new Set(bridge.queue.map((event) => event.seq));
        const restored = (all.result || []).filter((event) => !known.has(event.seq));
        if (restored.length) {
          bridge.queue = bridge.queue.concat(restored).sort((a, b) => a.seq - b.seq);
          bridge.seq = Math.max(bridge.seq, restored[restored.length - 1].seq);
          restored.forEach((event) => { if (event.type === 'message') firstTime(event.payload.id); });
        }
        bridge.journal.restored = restored.length;
        bridge.journal.enabled = true;
        resolve(db);
      };
      tx.onerror = () => { journalFailed('restore', tx.error); resolve(null); };
    });
  }).then((db) => {
    bridge.journal.ready = true;
    return db;
  });

  function flushJournal() {
    journalFlushScheduled = false;
    const batch = journalBatch;
    journalBatch = [];
    journalDb.then((db) => {
      if (!db || !bridge.journal.enabled) {
        batch.forEach((event) => unjournaled.delete(event.seq));
        return;
      }
      try {
        const tx = db.transaction(JOURNAL_STORE, 'readwrite');
        const store = tx.objectStore(JOURNAL_STORE);
        batch.forEach((event) => store.put(event));
        tx.oncomplete = () => {
          bridge.journal.writes += 1;
          batch.forEach((event) => unjournaled.delete(event.seq));
        };
        tx.onerror = () => journalFailed('write', tx.error);
        tx.onabort = () => journalFailed('write', tx.error || 'aborted');
      } catch (e) {
        journalFailed('write', e);
      }
    });
  }
  function journal(event) {
    unjournaled.add(event.seq);
    journalBatch.push(event);
    if (journalFlushScheduled) return;
    journalFlushScheduled = true;
    queueMicrotask(flushJournal);
  }
  function forget(uptoSeq) {
    journalDb.then((db) => {
      if (!db || !bridge.journal.enabled) return;
      try {
        const tx = db.transaction(JOURNAL_STORE, 'readwrite');
        tx.objectStore(JOURNAL_STORE).delete(IDBKeyRange.upperBound(uptoSeq));
      } catch (e) {
        bridge.journal.error = 'forget: ' + e; // left over rows are replayed, and replay is idempotent
      }
    });
  }

  function push(type, payload) {
    bridge.seq += 1;
    bridge.lastEventAt = Date.now();
    const event = { seq: bridge.seq, type, at: bridge.lastEventAt, payload };
    bridge.queue.push(event);
    if (JOURNALED[type]) journal(event);
    schedulePersist();
  }

  // --- normalisation -------------------------------------------------------------------
  function jid(value) {
    if (!value) return null;
    if (typeof value === 'string') return value;
    if (typeof value._serialized === 'string') return value._serialized;
    return String(value);
  }
  function phoneOf(value) {
    const id = jid(value);
    const match = id && /^(\d{7,15})(?::\d+)?@c\.us$/.exec(id);
    return match ? '+' + match[1] : null;
  }
  const seenIds = new Set();
  function firstTime(id) {
    if (seenIds.has(id)) return false;
    seenIds.add(id);
    if (seenIds.size > SEEN_IDS_MAX) seenIds.delete(seenIds.values().next().value);
    return true;
  }
  function wpp() {
    return window.WPP && window.WPP.conn ? window.WPP : null;
  }
  function me() {
    const W = wpp();
    try {
      return W && W.conn.isAuthenticated() ? phoneOf(W.conn.getMyUserId()) : null;
    } catch (e) {
      return null;
    }
  }

  // --- state transitions (from events, or noticed by the tick if an event was missed) ---
  function noteAuthCode(code) {
    const full = code && (typeof code === 'string' ? code : code.fullCode);
    if (!full || full === bridge.known.code || bridge.known.authenticated) return;
    bridge.known.code = full;
    push('auth_code', { code: full, ref: (code && code.ref) || null });
  }
  function noteAuthenticated() {
    if (bridge.known.authenticated) return;
    bridge.known.authenticated = true;
    bridge.known.code = null;
    push('authenticated', { me: me() });
  }
  function noteReady() {
    noteAuthenticated();
    if (bridge.known.ready) return;
    bridge.known.ready = true;
    push('ready', { me: me() });
  }
  function noteLogout() {
    Object.assign(bridge.known, { authenticated: false, ready: false, code: null });
    push('logout', {});
  }
  function noteOnline(online) {
    const previous = bridge.known.online;
    bridge.known.online = online;
    // The first observation is a baseline, not a change.
    if (previous === null || previous === online) return;
    push(online ? 'connected' : 'disconnected', {});
  }
  function noteMessage(msg) {
    if (!msg || !msg.id) return;
    // wa-js emits an undecrypted message as 'ciphertext' and again once it is readable.
    if (msg.type === 'ciphertext') return;
    const id = jid(msg.id);
    const chat = jid(msg.id.remote) || jid(msg.from);
    if (chat === 'status@broadcast' || !firstTime(id)) return; // statuses are not chats
    const fromMe = msg.id.fromMe !== undefined ? !!msg.id.fromMe : !!msg.fromMe;
    push('message', {
      id,
      from: phoneOf(msg.from),
      to: phoneOf(msg.to),
      from_jid: jid(msg.from),
      to_jid: jid(msg.to),
      author: jid(msg.author),
      body: typeof msg.body === 'string' ? msg.body : null,
      timestamp: typeof msg.t === 'number' ? msg.t : null,
      fromMe,
      type: msg.type || null,
    });
  }
  function noteAck(change) {
    if (!change || !Array.isArray(change.ids)) return;
    change.ids.forEach((key) => {
      push('ack', { id: jid(key), ack: change.ack, chat: jid(change.chat), to: phoneOf(change.chat) });
    });
  }

  function subscribe(W) {
    const on = typeof W.on === 'function' ? (n, f) => W.on(n, f) : (n, f) => W.ev.on(n, f);
    const guard = (fn) => (...args) => {
      try { fn(...args); } catch (e) { bridge.lastError = 'event: ' + e; }
    };
    on('conn.auth_code_change', guard(noteAuthCode));
    on('conn.authenticated', guard(noteAuthenticated));
    on('conn.main_ready', guard(noteReady));
    on('conn.logout', guard(noteLogout));
    on('conn.online', guard((online) => noteOnline(!!online)));
    on('chat.new_message', guard(noteMessage));
    on('chat.msg_ack_change', guard(noteAck));
    bridge.subscribed = true;
  }

  let ticks = 0;
  function tick() {
    ticks += 1;
    // The heartbeat proves this page's event loop still runs timers; a hung page stops it.
    bridge.heartbeatAt = Date.now();
    const W = wpp();
    if (!W) return;
    try {
      if (!bridge.subscribed && (typeof W.on === 'function' || (W.ev && typeof W.ev.on === 'function'))) {
        subscribe(W);
      }
      if (!(W.isReady || (W.webpack && W.webpack.isReady))) return;
      if (W.conn.isAuthenticated()) {
        noteAuthenticated();
        if (W.conn.isMainReady()) noteReady();
      } else {
        if (bridge.known.authenticated) noteLogout(); // the logout event was missed
        // Rotations arrive as events; polling is the safety net for an injection that came
        // after the event, so it runs often only until a first code is known.
        if (!bridge.known.code || ticks % 5 === 0) {
          Promise.resolve(W.conn.getAuthCode()).then(noteAuthCode, () => {});
        }
      }
      if (typeof W.conn.isOnline === 'function') noteOnline(!!W.conn.isOnline());
    } catch (e) {
      bridge.lastError = 'tick: ' + e;
    }
  }

  function withTimeout(promise, ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ timedOut: true }), Math.max(0, ms));
      promise.then(
        (value) => { clearTimeout(timer); resolve({ value }); },
        (error) => { clearTimeout(timer); resolve({ error }); },
      );
    });
  }
  function describe(error) {
    return String((error && (error.code || error.message)) || error);
  }

  // --- quiesce ---------------------------------------------------------------------------
  // Called by a dead worker's reaper (through DevTools) before it stops this page. WhatsApp's
  // servers forget a message once the page sends its receipt, which the page does before the
  // journal write commits; a page stopped in between would lose the message. Once quiesced
  // the page sends nothing on its sockets, so the servers keep what it has not journaled for
  // the next page (which stores it once: ingestion is idempotent).
  let quiesced = false;
  const nativeSocketSend = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (quiesced) return undefined;
    return nativeSocketSend.call(this, data);
  };
  bridge.quiesce = function (timeoutMs) {
    quiesced = true;
    const deadline = Date.now() + (Number(timeoutMs) || 3000);
    return new Promise((resolve) => {
      (function settled() {
        if (unjournaled.size === 0 || Date.now() >= deadline) {
          resolve({ quiesced: true, unjournaled: unjournaled.size });
        } else {
          setTimeout(settled, 20);
        }
      })();
    });
  };

  // --- API -----------------------------------------------------------------------------
  bridge.drain = function (max) {
    // Until the journal is read back, older events may still join the queue ahead of these.
    if (!bridge.journal.ready) return [];
    const limit = Math.max(0, Math.min(Number(max) || 500, bridge.queue.length));
    let n = 0;
    while (n < limit && !unjournaled.has(bridge.queue[n].seq)) n += 1;
    return bridge.queue.slice(0, n);
  };
  bridge.confirm = function (uptoSeq) {
    bridge.queue = bridge.queue.filter((event) => event.seq > uptoSeq);
    forget(uptoSeq);
    persist();
    return bridge.queue.length;
  };
  bridge.me = me;
  bridge.state = function () {
    const W = wpp();
    const result = {
      installed: true,
      wpp: !!W,
      wpp_ready: !!(W && (W.isReady || (W.webpack && W.webpack.isReady))),
      authenticated: false,
      ready: false,
      auth_code: null,
      connected: null,
      me: null,
      heartbeat_at: bridge.heartbeatAt,
      now: Date.now(),
      last_event_at: bridge.lastEventAt,
      queue_length: bridge.queue.length,
      seq: bridge.seq,
      last_error: bridge.lastError,
      journal: Object.assign({ unwritten: unjournaled.size }, bridge.journal),
    };
    if (!W) return result;
    try {
      result.authenticated = !!W.conn.isAuthenticated();
      result.ready = result.authenticated && !!W.conn.isMainReady();
      result.auth_code = result.authenticated ? null : bridge.known.code;
      result.connected = typeof W.conn.isOnline === 'function' ? !!W.conn.isOnline() : null;
      result.me = me();
    } catch (e) {
      result.last_error = 'state: ' + e;
    }
    return result;
  };
  bridge.harvest = function (max) {
    return { events: bridge.drain(max), state: bridge.state() };
  };
  // Sends by idempotency key (in memory, bounded): a repeated key never sends twice, and
  // the id of a send whose caller gave up waiting can still be looked up.
  const sends = new Map();
  const SENDS_MAX = 2000;
  bridge.sendRecord = function (key) {
    return sends.get(key) || null;
  };
  bridge.send = async function (to, text, ackTimeoutMs, key) {
    if (key && sends.has(key)) {
      const record = sends.get(key);
      if (!record.id) return { ok: false, reason: 'in_flight' };
      return { ok: true, id: record.id, confirmed: record.confirmed, ack: record.confirmed ? 1 : 0, duplicate: true };
    }
    const record = { id: null, confirmed: false, at: Date.now() };
    if (key) {
      sends.set(key, record);
      if (sends.size > SENDS_MAX) sends.delete(sends.keys().next().value);
    }
    const result = await sendOnce(to, text, ackTimeoutMs, record, messageIdFor(key));
    if (key && !result.id) sends.delete(key); // nothing was created: a retry may send
    return result;
  };
  // A key that is a UUID (Blazz passes the Chat's uuid) becomes the WhatsApp message id
  // (32 uppercase hex, the shape phones use). Sent again from another page after a worker
  // died mid-send, it is the same message to the servers, not a second one.
  function messageIdFor(key) {
    const text = String(key || '');
    if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(text)) return undefined;
    return text.replace(/-/g, '').toUpperCase();
  }
  async function sendOnce(to, text, ackTimeoutMs, record, messageId) {
    const W = wpp();
    if (!W || !W.chat || typeof W.chat.sendTextMessage !== 'function') return { ok: false, reason: 'no_wpp' };
    if (!W.conn.isAuthenticated()) return { ok: false, reason: 'not_authenticated' };
    const digits = String(to).replace(/^\+/, '');
    if (!/^[1-9][0-9]{6,14}$/.test(digits)) return { ok: false, reason: 'invalid_recipient' };
    if (typeof text !== 'string' || text === '') return { ok: false, reason: 'empty_text' };
    let sent;
    const options = { createChat: true, waitForAck: false };
    if (messageId) options.messageId = messageId;
    try {
      // waitForAck false: get the id at once, then wait for the server's ack ourselves.
      sent = await W.chat.sendTextMessage(digits + '@c.us', text, options);
    } catch (e) {
      return { ok: false, reason: 'send_error', error: describe(e) };
    }
    const id = jid(sent && sent.id);
    if (!id) return { ok: false, reason: 'send_error', error: 'no message id' };
    record.id = id;
    // sendMsgResult resolves to {messageSendResult: 'OK'} (older WhatsApp: the bare 'OK').
    const acked = Promise.resolve(sent.sendMsgResult).then((value) => {
      const result = value && value.messageSendResult !== undefined ? value.messageSendResult : value;
      record.confirmed = result === undefined || result === null || result === 'OK';
      return result;
    });
    const outcome = await withTimeout(acked, ackTimeoutMs || 15000);
    if (outcome.timedOut) return { ok: true, id, confirmed: false, ack: sent.ack || 0 };
    if (outcome.error) return { ok: false, id, reason: 'send_failed', error: describe(outcome.error) };
    if (record.confirmed) return { ok: true, id, confirmed: true, ack: 1 };
    return { ok: false, id, reason: 'send_failed', error: String(outcome.value) };
  }
  bridge.probe = async function (timeoutMs) {
    const W = wpp();
    if (!W) return { ok: false, reason: 'no_wpp' };
    const started = performance.now();
    let myId;
    try {
      if (!W.conn.isAuthenticated()) return { ok: false, reason: 'not_authenticated' };
      myId = W.conn.getMyUserId();
    } catch (e) {
      return { ok: false, reason: 'error', error: describe(e) };
    }
    // sendQueryExists asks the servers every time; contact.queryExists is cached by wa-js
    // after the first answer, so it only proves liveness once (the fallback, not the rule).
    const functions = W.whatsapp && W.whatsapp.functions;
    const roundTrip = functions && typeof functions.sendQueryExists === 'function'
      ? () => functions.sendQueryExists(myId)
      : () => W.contact.queryExists(jid(myId));
    const outcome = await withTimeout(Promise.resolve().then(roundTrip), timeoutMs || 5000);
    if (outcome.timedOut) return { ok: false, reason: 'timeout' };
    if (outcome.error) return { ok: false, reason: 'error', error: describe(outcome.error) };
    return { ok: true, rtt_ms: Math.round(performance.now() - started) };
  };
  bridge.summary = function () {
    return { version: bridge.version, seq: bridge.seq, queue_length: bridge.queue.length, subscribed: bridge.subscribed };
  };

  setInterval(tick, TICK_MS);
  tick();
})();
