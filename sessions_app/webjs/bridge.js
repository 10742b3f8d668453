/* Blazz page bridge (DESIGN §6), written against wa-js 4.6.0 (npm @wppconnect/wa-js).
 *
 * The driver installs it as a new-document script on every navigation, after
 * `window.WPPConfig` and the wa-js bundle (so WhatsApp Web's own reloads re-arm it). It
 * listens to window.WPP, queues normalised events in window.__blazz, and gives the worker a
 * small API it calls with one execute_script per call:
 *
 *   __blazz.drain(max)           -> the oldest `max` events, NOT removed
 *   __blazz.confirm(uptoSeq)     -> removes events with seq <= uptoSeq (after the DB commit)
 *   __blazz.harvest(max)         -> {events: drain(max), state: state()} in one call
 *   __blazz.send(to, text, ms, key) -> Promise {ok, id, confirmed} | {ok: false, reason, transient}
 *   __blazz.sendRecord(key)      -> {id, confirmed} of an earlier send with that key, or null
 *   __blazz.mediaStart(id, max)  -> {state: downloading | ready | failed, size, sha256, reason,
 *                                   transient}: starts downloading a message's file in the page
 *   __blazz.mediaStatus(id)      -> the same, without starting anything
 *   __blazz.mediaChunk(id, offset, length) -> base64 of those bytes of a ready file, or null
 *   __blazz.mediaRelease(id)     -> forgets the file (the worker has it)
 *   __blazz.mediaPut(key, offset, b64) -> bytes received so far for an outbound file
 *   __blazz.mediaDrop(key)       -> forgets an outbound file
 *   __blazz.sendMedia(to, spec, ms, key) -> like send: a file (spec.kind image | video | audio |
 *                                   ptt | document | sticker, pushed with mediaPut under key),
 *                                   a location (lat, lng, name, address) or a contact card
 *                                   (contact, name)
 *   __blazz.state()              -> {authenticated, ready, stream, auth_code, connected, heartbeat_at, ...}
 *   __blazz.me()                 -> "+E164" or null
 *   __blazz.probe(ms)            -> Promise {ok: true, rtt_ms} | {ok: false, reason}
 *   __blazz.quiesce(ms)          -> Promise {quiesced, unjournaled}: the page sends nothing more
 *                                   and every event it holds is journaled (the reaper's call)
 *   window.__blazzWake(seq)      <- called BY the page when events are ready to drain: a
 *                                   DevTools binding the worker adds (Runtime.addBinding)
 *   __blazz.wppApi               -> [[path, typeof]]: every WPP member this file calls (checked
 *                                   against the real bundle by the test suite)
 *
 * Event: {seq, type, at, payload}; type is one of auth_code, authenticated, ready, logout,
 * message, ack, system, connected, disconnected. seq only grows, also across page reloads:
 * the queue is mirrored to sessionStorage (WhatsApp Web reloads itself) and a queue that
 * starts empty takes its first seq from the clock.
 *
 * Messages and acks are also journaled in the origin's IndexedDB (database __blazz) and
 * drain() hands out only events whose journal write has completed. WhatsApp's servers
 * forget a message once the page has received it, so the journal is what lets a worker
 * that was killed between reading a batch and committing it find the batch again: the
 * browser's profile (and the snapshot) keep the journal, and the next bridge injected into
 * that profile re-queues it. Lifecycle events are not journaled: a new page reports its
 * own state again, and replaying an old logout or QR code would be wrong.
 *
 * wa-js 4.6.0 facts this relies on (sources under src/ at tag v4.6.0):
 * - conn.main_ready fires once, on the first QR *or* MAIN stream mode (conn/events/
 *   registerMainReadyEvent.ts): "ready" here is isAuthenticated() and stream mode MAIN.
 * - chat.new_message is emitted only for messages added after the loader injected
 *   (chat/events/registerNewMessageEvent.ts): every ready page scans recent chats to catch up.
 * - chat.msg_ack_change never carries a failed (negative) ack (chat/events/
 *   registerAckMessageEvent.ts): a send counts only on sendMsgResult 'OK' (waitForAck) or an
 *   ack seen by polling getMessageById.
 * - a string messageId must be a serialized key of the resolved chat (chat/functions/
 *   prepareRawMessage.ts); chat.find may resolve a phone to its @lid chat.
 * - 1:1 chats may be @lid; the phone comes from contact.getPnLidEntry, never from the LID.
 *
 * Only wa-js calls listed in wppApi are used; nothing here assumes the simulator.
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
    version: 2,
    queue: [],
    seq: Date.now() * 1000,
    // What this page has reported. Not restored after a reload: a new document reports its
    // own state again (WhatsApp Web reloads itself after a logout, an update, a conflict).
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
    }
  } catch (e) {
    bridge.lastError = 'restore: ' + e;
  }
  window.__blazz = bridge;

  // The driver installs the bundle and then the bridge as new-document scripts, so WPP is
  // normally there already; if the bundle comes later (an injection after load), the bridge
  // subscribes the moment WPP is assigned.
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
      const snapshot = { queue: bridge.queue, seq: bridge.seq };
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
    if (bridge.queue.length) wake(); // what an earlier page left, and what came meanwhile
    return db;
  });

  function flushJournal() {
    journalFlushScheduled = false;
    const batch = journalBatch;
    journalBatch = [];
    journalDb.then((db) => {
      if (!db || !bridge.journal.enabled) {
        batch.forEach((event) => unjournaled.delete(event.seq));
        wake();
        return;
      }
      try {
        const tx = db.transaction(JOURNAL_STORE, 'readwrite');
        const store = tx.objectStore(JOURNAL_STORE);
        batch.forEach((event) => store.put(event));
        tx.oncomplete = () => {
          bridge.journal.writes += 1;
          batch.forEach((event) => unjournaled.delete(event.seq));
          wake();
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

  // --- wake-up (DESIGN §6: events are pushed to the worker) ------------------------------
  // The worker adds a DevTools binding of this name to every page it drives
  // (Runtime.addBinding); calling it reaches the worker at once over its own DevTools
  // connection. It only says "drain me": the events still leave through drain() and are
  // forgotten only on confirm() after the worker's commit, so the journal's guarantees are
  // the ones above. One call until the next drain; without the binding (an older worker, a
  // page opened by hand) the worker's slow sweep still drains the queue.
  const WAKE_BINDING = '__blazzWake';
  // A wake-up the worker did not act on (lost with its DevTools connection, or called while
  // the binding was missing) is sent again from tick() while drainable events wait, so a
  // lost wake-up costs at most REWAKE_MS, not the worker's sweep of every page.
  const REWAKE_MS = 2000;
  let wakeSent = false;
  let wakeSentAt = 0;
  function wake() {
    if (wakeSent) return;
    const binding = /** @type {any} */ (window)[WAKE_BINDING];
    if (typeof binding !== 'function') return;
    wakeSent = true;
    wakeSentAt = Date.now();
    try {
      binding(String(bridge.seq));
    } catch (e) {
      wakeSent = false;
    }
  }

  function push(type, payload) {
    bridge.seq += 1;
    bridge.lastEventAt = Date.now();
    const event = { seq: bridge.seq, type, at: bridge.lastEventAt, payload };
    bridge.queue.push(event);
    // A journaled event may be drained only once its journal write completes: it wakes the
    // worker then (flushJournal), not now.
    if (JOURNALED[type]) journal(event);
    else wake();
    schedulePersist();
  }

  // --- normalisation -------------------------------------------------------------------
  /** @param {any} value @returns {string | null} */
  function jid(value) {
    if (!value) return null;
    if (typeof value === 'string') return value;
    if (typeof value._serialized === 'string') return value._serialized;
    return String(value);
  }
  /** `<digits>@c.us` (or `@s.whatsapp.net`) is a phone number; a `@lid` never is. */
  function phoneOf(value) {
    const id = jid(value);
    const match = id && /^(\d{7,15})(?::\d+)?@(c\.us|s\.whatsapp\.net)$/.exec(id);
    return match ? '+' + match[1] : null;
  }
  function isLid(value) {
    const id = jid(value);
    return !!id && /^\d{1,40}@lid$/.test(id);
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
  /** @typedef {typeof window.WPP} Wpp */
  /** @param {Wpp | null} W */
  function loaderReady(W) {
    return !!(W && W.isReady);
  }
  function me() {
    const W = wpp();
    try {
      return loaderReady(W) && W.conn.isAuthenticated() ? phoneOf(W.conn.getMyUserId()) : null;
    } catch (e) {
      return null;
    }
  }
  /** @param {Wpp} W */
  function streamOf(W) {
    try {
      const data = W.conn.getStreamData();
      return { mode: data && data.mode ? String(data.mode) : null, info: data && data.info ? String(data.info) : null };
    } catch (e) {
      return { mode: null, info: null };
    }
  }
  // Send options Blazz chooses (the driver sets them before the bundle, with WPPConfig).
  function sendOptions() {
    const chosen = window.__blazzSendOptions || {};
    return { markIsRead: !!chosen.markIsRead, linkPreview: !!chosen.linkPreview };
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
    catchUp();
  }
  function noteLogout() {
    const wasAuthenticated = bridge.known.authenticated;
    Object.assign(bridge.known, { authenticated: false, ready: false, code: null });
    if (wasAuthenticated) push('logout', {});
  }
  function noteOnline(online) {
    const previous = bridge.known.online;
    bridge.known.online = online;
    // The first observation is a baseline, not a change.
    if (previous === null || previous === online) return;
    push(online ? 'connected' : 'disconnected', {});
  }
  // Ready means logged in AND the stream in MAIN mode. conn.main_ready alone is not enough:
  // wa-js 4.6.0 emits it on the QR screen too, once, and never again.
  function evaluate() {
    const W = wpp();
    if (!loaderReady(W)) return;
    if (W.conn.isAuthenticated()) {
      noteAuthenticated();
      const stream = streamOf(W);
      if (stream.mode === 'MAIN') {
        noteReady();
        noteOnline(stream.info === 'NORMAL');
      }
    } else if (bridge.known.authenticated) {
      noteLogout(); // the logout event was missed
    }
  }

  // --- messages ------------------------------------------------------------------------
  // WhatsApp's SYSTEM_MESSAGE_TYPES and other non-user types: never a chat, never a webhook.
  const SYSTEM_TYPES = new Set([
    'notification', 'notification_template', 'group_notification', 'gp2', 'broadcast_notification',
    'e2e_notification', 'call_log', 'protocol', 'revoked', 'oversized', 'unknown', 'reaction',
    'ciphertext',
  ]);
  function isSystemType(type) {
    if (SYSTEM_TYPES.has(type)) return true;
    try {
      const W = wpp();
      const listed = W && W.whatsapp && W.whatsapp.enums && W.whatsapp.enums.SYSTEM_MESSAGE_TYPES;
      return Array.isArray(listed) && listed.indexOf(type) >= 0;
    } catch (e) {
      return false;
    }
  }
  // --- media (issue 17) -------------------------------------------------------------------
  // WhatsApp's MsgModel (wa-js whatsapp/models/MsgModel.ts) turned into the keys of Blazz's
  // Chat.media (messaging/services/media/). The bytes never travel with the event: the worker
  // fetches them afterwards (mediaStart / mediaChunk below). A media message's body is its JPEG
  // thumbnail, so the text comes from `caption`; wa-js's sendFileMessage.ts puts the file name
  // in `caption` when the sender wrote none (isCaptionByUser false), which is not a caption.
  const DOWNLOADABLE = { image: true, video: true, audio: true, ptt: true, document: true, sticker: true };
  function textOr(value) { return typeof value === 'string' && value !== '' ? value.replace(/\u0000/g, '') : null; }
  function numberOr(value) { return typeof value === 'number' && isFinite(value) ? value : null; }
  function captionOf(msg) {
    const caption = textOr(msg.caption);
    if (caption === null) return null;
    if (caption === textOr(msg.filename) && msg.isCaptionByUser !== true) return null;
    return caption;
  }
  function mediaOf(msg, type) {
    const media = {};
    const put = (name, value) => { if (value !== null && value !== undefined) media[name] = value; };
    if (DOWNLOADABLE[type]) {
      put('mimetype', textOr(msg.mimetype));
      put('filename', textOr(msg.filename));
      put('size', numberOr(msg.size));
      put('duration', numberOr(Number(msg.duration)));
      put('width', numberOr(msg.width));
      put('height', numberOr(msg.height));
      media.view_once = !!msg.isViewOnce;
    } else if (type === 'location') {
      put('lat', numberOr(msg.lat));
      put('lng', numberOr(msg.lng));
      // sendLocationMessage.ts: loc is "name\naddress", or either alone.
      const lines = (textOr(msg.loc) || '').split('\n');
      put('name', textOr(lines[0].trim()));
      put('address', textOr(lines.slice(1).join('\n').trim()));
    } else if (type === 'vcard' || type === 'multi_vcard') {
      // sendVCardContactMessage.ts: one card is the body; several are vcardList.
      const cards = type === 'vcard' ? [msg.body] : (Array.isArray(msg.vcardList) ? msg.vcardList.map((c) => c && c.vcard) : []);
      put('vcard', textOr(cards.filter((c) => typeof c === 'string').join('\n')));
      put('name', textOr(msg.vcardFormattedName));
    }
    return media;
  }
  // Identity lookups are asynchronous (getPnLidEntry); a chain keeps messages in the order
  // WhatsApp delivered them, and quiesce() waits for it.
  let chain = Promise.resolve();
  let chained = 0;
  function inOrder(work) {
    chained += 1;
    chain = chain.then(work).catch((e) => { bridge.lastError = 'event: ' + e; }).then(() => { chained -= 1; });
  }
  async function phoneForLid(lid) {
    const W = wpp();
    try {
      const entry = await W.contact.getPnLidEntry(lid);
      return phoneOf(entry && entry.phoneNumber);
    } catch (e) {
      return null;
    }
  }
  function noteMessage(msg) {
    if (!msg || !msg.id) return;
    // wa-js emits an undecrypted message as 'ciphertext' and again once it is readable.
    if (msg.type === 'ciphertext') return;
    const id = jid(msg.id);
    const chat = jid(msg.id.remote) || jid(msg.from);
    if (!id || !chat || !/@(c\.us|lid)$/.test(chat)) return; // groups, statuses, newsletters are not ours
    const fromMe = msg.id.fromMe !== undefined ? !!msg.id.fromMe : !!msg.fromMe;
    if (fromMe || !firstTime(id)) return; // our own sends are recorded by the send itself
    if (isSystemType(msg.type)) {
      push('system', { id, chat, type: msg.type || null, subtype: msg.subtype || null });
      return;
    }
    inOrder(async () => {
      const lid = isLid(chat) ? chat : null;
      const phone = lid ? await phoneForLid(lid) : phoneOf(chat);
      const raw = msg.type || 'chat';
      const type = raw === 'multi_vcard' ? 'vcard' : raw;
      push('message', {
        id,
        chat,
        from_jid: chat,
        phone,
        lid,
        push_name: typeof msg.notifyName === 'string' && msg.notifyName ? msg.notifyName : null,
        // A media message's body is its thumbnail; its text is the caption.
        body: type === 'chat' ? (typeof msg.body === 'string' ? msg.body : null) : (DOWNLOADABLE[type] ? captionOf(msg) : null),
        timestamp: typeof msg.t === 'number' ? msg.t : null,
        fromMe: false,
        type,
        media: type === 'chat' ? null : mediaOf(msg, raw),
        forwarded: !!msg.isForwarded,
      });
    });
  }
  // On every ready page: what WhatsApp delivered before wa-js's loader listened is in the
  // chats but was never emitted. Ingestion is idempotent, so re-reading stored ones is free.
  const CATCH_UP_CHATS = 200;
  const CATCH_UP_MESSAGES = 50;
  function catchUp() {
    const W = wpp();
    inOrder(async () => {
      const chats = await W.chat.list({ onlyUsers: true, onlyWithUnreadMessage: true, count: CATCH_UP_CHATS });
      for (const chat of chats) {
        const unread = Number(chat.unreadCount) > 0 ? Number(chat.unreadCount) : 2;
        const messages = await W.chat.getMessages(chat.id, { count: Math.min(CATCH_UP_MESSAGES, unread + 5) });
        (messages || []).forEach(noteMessage);
      }
      bridge.caughtUpAt = Date.now();
    });
  }

  // --- acks ----------------------------------------------------------------------------
  async function keyForms(key) {
    // The same message under both addressings: acks of a LID chat name `<lid>@lid`, the
    // send may have recorded `<phone>@c.us` (or the reverse).
    const serialized = jid(key);
    const forms = [serialized];
    const remote = jid(key.remote);
    const bare = key.id;
    if (!remote || !bare) return forms;
    const prefix = (key.fromMe ? 'true' : 'false') + '_';
    if (isLid(remote)) {
      const phone = await phoneForLid(remote);
      if (phone) forms.push(prefix + phone.slice(1) + '@c.us_' + bare);
    } else if (phoneOf(remote)) {
      // The local mapping only: getPnLidEntry on a phone may ask the servers, once per ack.
      try {
        const cache = wpp().whatsapp.lidPnCache;
        const lid = jid(cache && cache.getCurrentLid(key.remote));
        if (lid) forms.push(prefix + lid + '_' + bare);
      } catch (e) { /* no mapping known */ }
    }
    const sent = sentByBareId.get(bare);
    if (sent && forms.indexOf(sent) < 0) forms.push(sent);
    return forms;
  }
  function noteAck(change) {
    if (!change || !Array.isArray(change.ids)) return;
    change.ids.forEach((key) => {
      inOrder(async () => {
        const ids = await keyForms(key);
        push('ack', { id: ids[0], ids, ack: change.ack, chat: jid(change.chat) });
      });
    });
  }

  /** @param {Wpp} W */
  function subscribe(W) {
    const on = typeof W.on === 'function' ? (n, f) => W.on(n, f) : (n, f) => W.ev.on(n, f);
    const guard = (fn) => (...args) => {
      try { fn(...args); } catch (e) { bridge.lastError = 'event: ' + e; }
    };
    on('conn.auth_code_change', guard(noteAuthCode));
    on('conn.authenticated', guard(evaluate));
    on('conn.main_ready', guard(evaluate));
    on('conn.stream_mode_changed', guard(evaluate));
    on('conn.stream_info_changed', guard(evaluate));
    on('conn.logout', guard(noteLogout));
    on('loader.ready', guard(evaluate));
    on('chat.new_message', guard(noteMessage));
    on('chat.msg_ack_change', guard(noteAck));
    bridge.subscribed = true;
  }

  let ticks = 0;
  function tick() {
    ticks += 1;
    // The heartbeat proves this page's event loop still runs timers; a hung page stops it.
    bridge.heartbeatAt = Date.now();
    const drainable = bridge.journal.ready && bridge.queue.length > unjournaled.size;
    if (drainable && (!wakeSent || bridge.heartbeatAt - wakeSentAt >= REWAKE_MS)) {
      wakeSent = false;
      wake();
    }
    const W = wpp();
    if (!W) return;
    try {
      if (!bridge.subscribed && (typeof W.on === 'function' || (W.ev && typeof W.ev.on === 'function'))) {
        subscribe(W);
      }
      if (!loaderReady(W)) return;
      evaluate();
      if (!W.conn.isAuthenticated() && (!bridge.known.code || ticks % 5 === 0)) {
        // Rotations arrive as events; polling is the safety net for a code emitted before
        // the bridge listened, so it runs often only until a first code is known.
        Promise.resolve(W.conn.getAuthCode()).then(noteAuthCode, () => {});
      }
      watchAcks();
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
        if ((unjournaled.size === 0 && chained === 0) || Date.now() >= deadline) {
          resolve({ quiesced: true, unjournaled: unjournaled.size + chained });
        } else {
          setTimeout(settled, 20);
        }
      })();
    });
  };

  // --- API -----------------------------------------------------------------------------
  bridge.drain = function (max) {
    wakeSent = false; // whatever joins the queue after this drain wakes the worker again
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
    // More than one batch was waiting: ask for the next one now, not at the next sweep.
    if (bridge.queue.length) wake();
    return bridge.queue.length;
  };
  bridge.me = me;
  bridge.state = function () {
    const W = wpp();
    const result = {
      installed: true,
      wpp: !!W,
      wpp_ready: loaderReady(W),
      wpp_version: W && typeof W.version === 'string' ? W.version : null,
      authenticated: false,
      ready: false,
      stream: null,
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
      wake_binding: typeof (/** @type {any} */ (window)[WAKE_BINDING]) === 'function',
    };
    if (!loaderReady(W)) return result;
    try {
      const stream = streamOf(W);
      result.stream = stream;
      result.authenticated = !!W.conn.isAuthenticated();
      result.ready = result.authenticated && stream.mode === 'MAIN';
      result.auth_code = result.authenticated ? null : bridge.known.code;
      result.connected = result.ready ? stream.info === 'NORMAL' : null;
      result.me = me();
    } catch (e) {
      result.last_error = 'state: ' + e;
    }
    return result;
  };
  bridge.harvest = function (max) {
    return { events: bridge.drain(max), state: bridge.state() };
  };

  // --- sending -------------------------------------------------------------------------
  // Sends by idempotency key (in memory, bounded): a repeated key never sends twice, and
  // the id of a send whose caller gave up waiting can still be looked up.
  const sends = new Map();
  const SENDS_MAX = 2000;
  // The full key of each recent send by its bare id, so an ack naming the chat another way
  // still finds it. Bounded like `sends`: one entry per send forever was a slow leak in a
  // page that stays open for weeks. Acks come within minutes; a later receipt still matches
  // through the LID and phone forms keyForms() derives without this map.
  const sentByBareId = new Map();
  const SENT_IDS_MAX = 10000;
  bridge.sendRecord = function (key) {
    return sends.get(key) || null;
  };
  bridge.send = async function (to, text, ackTimeoutMs, key) {
    if (typeof text !== 'string' || text === '') return { ok: false, reason: 'empty_text' };
    return sendKeyed(to, ackTimeoutMs, key, (W, chatId, options) => W.chat.sendTextMessage(chatId, text, options));
  };
  async function sendKeyed(to, ackTimeoutMs, key, perform) {
    if (key && sends.has(key)) {
      const record = sends.get(key);
      if (!record.id) return { ok: false, reason: 'in_flight', transient: true };
      return { ok: true, id: record.id, confirmed: record.confirmed, duplicate: true };
    }
    const record = { id: null, confirmed: false, at: Date.now() };
    if (key) {
      sends.set(key, record);
      if (sends.size > SENDS_MAX) sends.delete(sends.keys().next().value);
    }
    const result = await sendOnce(to, perform, ackTimeoutMs, record, messageIdFor(key));
    if (key && !result.id) sends.delete(key); // nothing was created: a retry may send
    return result;
  }
  // A key that is a UUID (Blazz passes the Chat's uuid) becomes the WhatsApp message id
  // (32 uppercase hex, the shape phones use). Sent again from another page after a worker
  // died mid-send, it is the same message to the servers, not a second one.
  function messageIdFor(key) {
    const text = String(key || '');
    if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(text)) return undefined;
    return text.replace(/-/g, '').toUpperCase();
  }
  function recipientJid(to) {
    const text = String(to || '').trim();
    if (/^\d{1,40}@lid$/.test(text)) return text;
    // A customer whose number Blazz's phone library refuses is answered under its own id.
    if (/^[1-9]\d{4,19}@c\.us$/.test(text)) return text;
    const digits = text.replace(/^\+/, '');
    return /^[1-9][0-9]{6,14}$/.test(digits) ? digits + '@c.us' : null;
  }
  function sendResultOf(value) {
    // {messageSendResult: 'OK' | 'ERROR_*'} for chats; the bare string for newsletters.
    if (value && typeof value === 'object' && 'messageSendResult' in value) return value.messageSendResult;
    return value === undefined ? null : value;
  }
  async function sendOnce(to, perform, ackTimeoutMs, record, bareId) {
    const W = wpp();
    if (!loaderReady(W) || !W.chat || typeof W.chat.sendTextMessage !== 'function') {
      return { ok: false, reason: 'no_wpp', transient: true };
    }
    if (!W.conn.isAuthenticated()) return { ok: false, reason: 'not_authenticated', transient: true };
    const target = recipientJid(to);
    if (!target) return { ok: false, reason: 'invalid_recipient' };
    const deadline = Date.now() + (ackTimeoutMs || 15000);
    // The chat first: a phone may resolve to its @lid chat, and the key must name that chat.
    const found = await withTimeout(Promise.resolve().then(() => W.chat.find(target)), deadline - Date.now());
    if (found.timedOut) return { ok: false, reason: 'timeout', transient: true };
    if (found.error) {
      // On a connected page a chat that cannot be found or made is a recipient WhatsApp does
      // not know; on a page that is offline it is worth another try later.
      const code = describe(found.error);
      if (code === 'chat_not_found' || streamOf(W).info === 'NORMAL') {
        return { ok: false, reason: 'not_on_whatsapp', error: code };
      }
      return { ok: false, reason: 'offline', transient: true, error: code };
    }
    const chatId = jid(found.value && found.value.id);
    if (!chatId) return { ok: false, reason: 'offline', transient: true, error: 'no chat id' };
    const options = Object.assign({ waitForAck: true }, sendOptions());
    if (bareId) {
      options.messageId = 'true_' + chatId + '_' + bareId;
      record.id = options.messageId;
      sentByBareId.set(bareId, record.id);
      if (sentByBareId.size > SENT_IDS_MAX) sentByBareId.delete(sentByBareId.keys().next().value);
    }
    const outcome = await withTimeout(
      Promise.resolve().then(() => perform(W, chatId, options)),
      deadline - Date.now(),
    );
    if (outcome.timedOut) {
      // Created (or about to be) but not acked yet: the ack watch reports it either way.
      if (record.id) watchAck(record.id);
      return { ok: true, id: record.id, confirmed: false };
    }
    if (outcome.error) return { ok: false, id: null, reason: 'send_error', error: describe(outcome.error) };
    const sent = outcome.value || {};
    const id = jid(sent.id) || record.id;
    if (!id) return { ok: false, reason: 'send_error', error: 'no message id' };
    record.id = id;
    const result = sendResultOf(sent.sendMsgResult);
    if (result === 'OK') {
      record.confirmed = true;
      return { ok: true, id, confirmed: true };
    }
    if (result === null) {
      watchAck(id);
      return { ok: true, id, confirmed: false };
    }
    return { ok: false, id, reason: 'send_failed', error: String(result) };
  }
  // Sends that were not confirmed in time: their ack is read from the message itself until it
  // is known, because wa-js emits no event for a failed (negative) ack.
  const ackWatch = new Map();
  const ACK_WATCH_MS = 10 * 60 * 1000;
  function watchAck(id) {
    if (!ackWatch.has(id)) ackWatch.set(id, Date.now() + ACK_WATCH_MS);
  }
  let watching = false;
  function watchAcks() {
    if (watching || ackWatch.size === 0 || ticks % 3 !== 0) return;
    const W = wpp();
    watching = true;
    const now = Date.now();
    Promise.all([...ackWatch.entries()].map(async ([id, until]) => {
      if (now > until) { ackWatch.delete(id); return; }
      try {
        const msg = await W.chat.getMessageById(id);
        const ack = msg ? Number(msg.ack) : 0;
        if (ack !== 0) {
          ackWatch.delete(id);
          inOrder(async () => {
            const ids = await keyForms(msg.id);
            push('ack', { id, ids: ids.indexOf(id) < 0 ? [id, ...ids] : ids, ack, chat: jid(msg.id.remote), watched: true });
          });
        }
      } catch (e) { /* not in this page (yet) */ }
    })).then(() => { watching = false; }, () => { watching = false; });
  }

  // --- media: inbound bytes to the worker, outbound bytes from it --------------------------
  // Bytes never ride in the harvest. The worker asks for one message's file (mediaStart: the
  // download runs in the page, the call returns at once), polls (mediaStatus), then pulls it
  // in bounded base64 chunks (mediaChunk), one short execute_script each, and releases it
  // (mediaRelease). A file over the worker's limit is refused before or after the download.
  const downloads = new Map(); // message id -> {state, bytes, size, sha256, mimetype, at, ...}
  const DOWNLOADS_MAX_BYTES = 256 * 1024 * 1024; // held for the worker at once, all files
  const DOWNLOAD_TIMEOUT_MS = 120 * 1000;
  const HELD_FOR_MS = 10 * 60 * 1000; // a worker that died mid-pull never releases
  function downloadView(entry) {
    if (!entry) return { state: 'unknown' };
    const { bytes, promise, ...view } = entry;
    return view;
  }
  function heldBytes() {
    let total = 0;
    downloads.forEach((entry) => { total += entry.bytes ? entry.bytes.length : 0; });
    return total;
  }
  function forgetOldDownloads() {
    const now = Date.now();
    downloads.forEach((entry, id) => {
      if (now - entry.at > HELD_FOR_MS) downloads.delete(id);
      else if (entry.state === 'downloading' && now - entry.at > DOWNLOAD_TIMEOUT_MS) {
        downloads.set(id, { state: 'failed', reason: 'timeout', transient: true, at: entry.at });
      }
    });
  }
  function hex(buffer) {
    return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }
  async function download(id, maxBytes, entry) {
    const W = wpp();
    const fail = (reason, extra) => { if (downloads.get(id) === entry) downloads.set(id, Object.assign({ state: 'failed', reason, at: entry.at }, extra)); };
    let msg;
    try {
      msg = await W.chat.getMessageById(id);
    } catch (e) {
      // Not in this page (a profile restored from an older snapshot): worth another try later.
      return fail('msg_not_found', { transient: true, error: describe(e) });
    }
    if (msg && typeof msg.size === 'number' && msg.size > maxBytes) {
      return fail('too_large', { size: msg.size });
    }
    let blob;
    try {
      blob = await W.chat.downloadMedia(id);
    } catch (e) {
      const code = describe(e);
      // downloadMedia.ts: a message without media never has any; media_not_found (expired on
      // the servers, a failed download) may work later.
      return fail(code, code === 'message_not_contains_media' ? {} : { transient: true });
    }
    if (!blob || typeof blob.size !== 'number') return fail('no_blob', { transient: true });
    if (blob.size > maxBytes) return fail('too_large', { size: blob.size });
    if (heldBytes() + blob.size > DOWNLOADS_MAX_BYTES) return fail('page_busy', { transient: true });
    const buffer = await blob.arrayBuffer();
    let sha256 = null;
    try {
      if (window.crypto && crypto.subtle) sha256 = hex(await crypto.subtle.digest('SHA-256', buffer));
    } catch (e) { /* not a secure context: the worker checks the size only */ }
    if (downloads.get(id) !== entry) return; // released or timed out meanwhile
    // A video's thumbnail (MsgModel.body, a small JPEG) is kept with it: Blazz cannot draw a
    // frame of a video without a decoder, WhatsApp already did.
    const thumbnail = msg && msg.type === 'video' && typeof msg.body === 'string' && msg.body.length < 256 * 1024 ? msg.body : null;
    downloads.set(id, {
      state: 'ready', bytes: new Uint8Array(buffer), size: buffer.byteLength, sha256,
      mimetype: blob.type || null, thumbnail, at: entry.at,
    });
  }
  bridge.mediaStart = function (id, maxBytes) {
    forgetOldDownloads();
    const W = wpp();
    if (!loaderReady(W) || !W.conn.isAuthenticated()) return { state: 'failed', reason: 'not_ready', transient: true };
    if (typeof id !== 'string' || !id) return { state: 'failed', reason: 'bad_id' };
    if (!downloads.has(id)) {
      const entry = { state: 'downloading', at: Date.now() };
      downloads.set(id, entry);
      download(id, Number(maxBytes) || 16 * 1024 * 1024, entry).catch((e) => {
        if (downloads.get(id) === entry) downloads.set(id, { state: 'failed', reason: 'error', transient: true, error: describe(e), at: entry.at });
      });
    }
    return downloadView(downloads.get(id));
  };
  bridge.mediaStatus = function (id) {
    forgetOldDownloads();
    return downloadView(downloads.get(id));
  };
  bridge.mediaChunk = function (id, offset, length) {
    const entry = downloads.get(id);
    if (!entry || entry.state !== 'ready') return null;
    const start = Math.max(0, Number(offset) || 0);
    const end = Math.min(entry.bytes.length, start + Math.max(1, Number(length) || 0));
    const part = entry.bytes.subarray(start, end);
    let binary = '';
    for (let i = 0; i < part.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, part.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  };
  bridge.mediaRelease = function (id) {
    return downloads.delete(id);
  };

  // Outbound: the worker pushes a file in chunks under the chat's key (mediaPut), then asks
  // for the send (sendMedia). A chunk at offset 0 starts the file again (a retried send).
  const uploads = new Map(); // key -> {parts: Uint8Array[], size, at}
  const UPLOADS_MAX = 8;
  bridge.mediaPut = function (key, offset, b64) {
    if (typeof key !== 'string' || !key || typeof b64 !== 'string') return -1;
    let entry = uploads.get(key);
    if (Number(offset) === 0 || !entry) {
      entry = { parts: [], size: 0, at: Date.now() };
      uploads.set(key, entry);
      while (uploads.size > UPLOADS_MAX) uploads.delete(uploads.keys().next().value);
    }
    if (Number(offset) !== entry.size) return entry.size; // out of order: the worker resumes here
    const binary = atob(b64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    entry.parts.push(bytes);
    entry.size += bytes.length;
    return entry.size;
  };
  bridge.mediaDrop = function (key) {
    return uploads.delete(key);
  };
  // wa-js 4.6.0 sendFileMessage.ts options: type image | video | audio (isPtt for a voice
  // note) | document | sticker; caption, filename, mimetype; a File is used as is
  // (util/convertToFile.ts), so its name and type are ours.
  const FILE_TYPES = { image: 'image', video: 'video', audio: 'audio', ptt: 'audio', document: 'document', sticker: 'sticker' };
  bridge.sendMedia = async function (to, spec, ackTimeoutMs, key) {
    const kind = spec && spec.kind;
    // A key already sent answers as send() does (its file was dropped after that send).
    if (key && sends.has(key)) return sendKeyed(to, ackTimeoutMs, key, null);
    if (FILE_TYPES[kind]) {
      const upload = uploads.get(key);
      if (!upload || upload.size !== Number(spec.size)) {
        return { ok: false, reason: 'media_incomplete', transient: true, have: upload ? upload.size : 0 };
      }
      const file = new File(upload.parts, spec.filename || 'file', { type: spec.mimetype || 'application/octet-stream' });
      const result = await sendKeyed(to, ackTimeoutMs, key, (W, chatId, options) => {
        const fileOptions = Object.assign({}, options, { type: FILE_TYPES[kind], filename: file.name, mimetype: file.type });
        if (kind === 'ptt') fileOptions.isPtt = true;
        if (typeof spec.caption === 'string' && spec.caption && kind !== 'ptt' && kind !== 'audio' && kind !== 'sticker') {
          fileOptions.caption = spec.caption;
        }
        return W.chat.sendFileMessage(chatId, file, /** @type {any} */ (fileOptions));
      });
      if (result.id || !result.transient) uploads.delete(key);
      return result;
    }
    if (kind === 'location') {
      const lat = Number(spec.lat);
      const lng = Number(spec.lng);
      if (!isFinite(lat) || !isFinite(lng)) return { ok: false, reason: 'invalid_location' };
      return sendKeyed(to, ackTimeoutMs, key, (W, chatId, options) => {
        const location = Object.assign({}, options, { lat, lng });
        if (spec.name) location.name = String(spec.name);
        if (spec.address) location.address = String(spec.address);
        return W.chat.sendLocationMessage(chatId, location);
      });
    }
    if (kind === 'vcard') {
      // sendVCardContactMessage.ts builds the card from a contact id and name (WhatsApp's
      // VCard.vcardFromContactModel); a vCard text cannot be sent as is.
      const contactId = recipientJid(spec.contact);
      if (!contactId) return { ok: false, reason: 'invalid_contact' };
      return sendKeyed(to, ackTimeoutMs, key, (W, chatId, options) =>
        W.chat.sendVCardContactMessage(chatId, { id: contactId, name: String(spec.name || '') }, options));
    }
    return { ok: false, reason: 'unknown_media_kind' };
  };

  // --- probe -----------------------------------------------------------------------------
  // A probe that a dead socket fails: the stream must be MAIN and NORMAL, and the servers
  // must answer a query that nothing caches (WhatsApp's own queryWidExists, not
  // WPP.contact.queryExists, which answers known contacts from memory and errors as null),
  // about an id that rotates.
  let probeTurn = 0;
  /** @param {Wpp} W */
  function probeIds(W) {
    // Wid objects, as WhatsApp's queryWidExists takes them (wa-js whatsapp/functions/sendQueryExists.ts).
    const ids = [];
    try { ids.push(W.conn.getMyUserId()); } catch (e) { /* not logged in */ }
    try { ids.push(W.conn.getMyUserLid()); } catch (e) { /* own LID unknown */ }
    return ids.filter(Boolean);
  }
  bridge.probe = async function (timeoutMs) {
    const W = wpp();
    if (!W) return { ok: false, reason: 'no_wpp' };
    if (!loaderReady(W)) return { ok: false, reason: 'wpp_not_ready' };
    const started = performance.now();
    let ids;
    try {
      if (!W.conn.isAuthenticated()) return { ok: false, reason: 'not_authenticated' };
      const stream = streamOf(W);
      if (stream.mode !== 'MAIN') return { ok: false, reason: 'stream_mode_' + String(stream.mode).toLowerCase() };
      if (stream.info !== 'NORMAL') return { ok: false, reason: 'stream_info_' + String(stream.info).toLowerCase() };
      ids = probeIds(W);
    } catch (e) {
      return { ok: false, reason: 'error', error: describe(e) };
    }
    const functions = W.whatsapp && W.whatsapp.functions;
    if (!functions || typeof functions.queryWidExists !== 'function') return { ok: false, reason: 'no_probe_function' };
    if (!ids.length) return { ok: false, reason: 'no_own_id' };
    const target = ids[probeTurn++ % ids.length];
    const outcome = await withTimeout(Promise.resolve().then(() => functions.queryWidExists(target)), timeoutMs || 5000);
    if (outcome.timedOut) return { ok: false, reason: 'timeout' };
    if (outcome.error) return { ok: false, reason: 'error', error: describe(outcome.error) };
    if (!outcome.value) return { ok: false, reason: 'no_answer' }; // our own number always exists
    return { ok: true, rtt_ms: Math.round(performance.now() - started), queried: jid(target) };
  };
  // --- logout and pairing by code ----------------------------------------------------------
  bridge.logout = async function () {
    const W = wpp();
    if (!loaderReady(W) || !W.conn.isAuthenticated()) return { ok: false, reason: 'not_authenticated' };
    try {
      await W.conn.logout();
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: 'error', error: describe(e) };
    }
  };
  bridge.linkCode = async function (phone) {
    const W = wpp();
    if (!loaderReady(W)) return { error: 'wpp_not_ready' };
    const digits = String(phone || '').replace(/^\+/, ''); // wa-js passes the string through as is
    try {
      return { code: await W.conn.genLinkDeviceCodeForPhoneNumber(digits) };
    } catch (e) {
      return { error: describe(e) };
    }
  };
  bridge.summary = function () {
    return { version: bridge.version, seq: bridge.seq, queue_length: bridge.queue.length, subscribed: bridge.subscribed };
  };
  // Every WPP member this file calls, with its type: the suite loads the real 4.6.0 bundle and
  // checks each (members under `whatsapp.` resolve from WhatsApp Web's modules at run time).
  bridge.wppApi = [
    ['on', 'function'], ['version', 'string'], ['isReady', 'boolean'],
    ['conn.isAuthenticated', 'function'], ['conn.getStreamData', 'function'], ['conn.getMyUserId', 'function'],
    ['conn.getMyUserLid', 'function'], ['conn.getAuthCode', 'function'], ['conn.logout', 'function'],
    ['conn.genLinkDeviceCodeForPhoneNumber', 'function'],
    ['chat.find', 'function'], ['chat.sendTextMessage', 'function'], ['chat.getMessageById', 'function'],
    ['chat.list', 'function'], ['chat.getMessages', 'function'],
    ['chat.sendFileMessage', 'function'], ['chat.downloadMedia', 'function'],
    ['chat.sendLocationMessage', 'function'], ['chat.sendVCardContactMessage', 'function'],
    ['contact.getPnLidEntry', 'function'],
    ['whatsapp.functions.queryWidExists', 'function'], ['whatsapp.enums.SYSTEM_MESSAGE_TYPES', 'object'],
  ];

  // A chain of timeouts rather than one interval: each step looks window.setTimeout up again,
  // so the heartbeat shares the fate of the page's own timers (a hung page stops both).
  (function loop() {
    tick();
    window.setTimeout(loop, TICK_MS);
  })();
})();
