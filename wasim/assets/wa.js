/* Simulated WhatsApp Web, part 2: the app. A model of what WhatsApp Web itself does in the
 * page: it talks to the simulated servers over /ws, keeps the stream state (QR -> SYNCING ->
 * MAIN), the chats and messages it received, the LID<->phone mapping it learned, and draws
 * the QR and main screens. It exposes NO `window.WPP`: like the real site, it only has
 * internal modules (here `window.__wasimApp`), which the wa-js stand-in (wppconnect-wa.js,
 * injected by the driver at document start, as the real bundle is) finds and wraps.
 * CONTRACT.md beside this file names the WhatsApp/wa-js behaviour each part follows.
 * Needs wa-base.js (window.__wasim) loaded first.
 */
(function () {
  'use strict';
  const { WPPError, makeWid, jidOfPhone, makeKey, randomHex, thaw, freeze } = window.__wasim;
  const { load: loadIdentity, save: saveIdentity, wipe: wipeIdentity } = window.__wasim.identity;

  // A tiny Backbone-like emitter per model, as WhatsApp's stores are ('add', 'change:ack'...).
  function emitter() {
    const map = new Map();
    return {
      on(name, fn) { (map.get(name) || map.set(name, []).get(name)).push(fn); },
      off(name, fn) { const l = map.get(name) || []; const i = l.indexOf(fn); if (i >= 0) l.splice(i, 1); },
      trigger(name, ...args) {
        [...(map.get(name) || [])].forEach((fn) => { try { fn(...args); } catch (e) { console.error(e); } });
      },
    };
  }

  // --- Models ----------------------------------------------------------------------------
  const SYNC_MS = 300;
  const PING_MS = 5000;
  // WhatsApp Web's Stream model: mode QR | SYNCING | MAIN (+ OFFLINE, CONFLICT...), info
  // OPENING | PAIRING | SYNCING | RESUMING | CONNECTING | NORMAL | OFFLINE.
  const Stream = Object.assign(emitter(), { mode: undefined, info: 'OPENING' });
  const Socket = Object.assign(emitter(), { state: 'OPENING' });
  const Conn = Object.assign(emitter(), { ref: null, authCode: null, wid: null, lid: null, pushname: '' });
  const Cmd = Object.assign(emitter(), { isMainLoaded: false });
  const NetworkStatus = Object.assign(emitter(), { online: navigator.onLine !== false });
  const MsgStore = Object.assign(emitter(), { models: new Map() });
  const ChatStore = Object.assign(emitter(), { models: new Map() });
  // LID <-> phone mapping the page learned (WhatsApp's lidPnCache / WAWebApiContact).
  const lidPn = { byLid: new Map(), byPn: new Map() };
  const state = {
    identity: null, ws: null, open: false, authenticated: false, me: null, linkCode: null,
    lastEseq: 0, reqSeq: 0, retryMs: 1000, reloading: false,
  };
  const pendingRequests = new Map();
  const outgoing = [];

  function set(model, field, value) {
    if (model[field] === value) return;
    model[field] = value;
    model.trigger('change:' + field, model, value);
  }
  function learnMapping(lid, phone) {
    if (!lid || !phone) return;
    lidPn.byLid.set(lid, jidOfPhone(phone));
    lidPn.byPn.set(jidOfPhone(phone), lid);
  }

  function chatFor(jid) {
    let chat = ChatStore.models.get(jid);
    if (!chat) {
      chat = { id: makeWid(jid), msgs: [], unreadCount: 0, t: 0 };
      ChatStore.models.set(jid, chat);
      ChatStore.trigger('add', chat);
    }
    return chat;
  }
  function addMsg(msg) {
    if (MsgStore.models.has(msg.id._serialized)) return MsgStore.models.get(msg.id._serialized);
    Object.assign(msg, emitter());
    MsgStore.models.set(msg.id._serialized, msg);
    const chat = chatFor(msg.id.remote._serialized);
    chat.msgs.push(msg);
    chat.t = Math.max(chat.t, msg.t || 0);
    if (!msg.id.fromMe && !SYSTEM_TYPES.has(msg.type)) chat.unreadCount += 1;
    MsgStore.trigger('add', msg);
    renderSoon();
    return msg;
  }
  function setAck(msg, ack) {
    if (msg.ack === ack) return;
    msg.ack = ack;
    msg.trigger('change:ack', msg, ack);
    MsgStore.trigger('change:ack', msg, ack);
    renderSoon();
  }
  // WhatsApp's SYSTEM_MESSAGE_TYPES (wa-js src/whatsapp/enums/MSG_TYPE.ts exports the list).
  const SYSTEM_TYPES = new Set([
    'notification', 'notification_template', 'group_notification', 'gp2', 'broadcast_notification',
    'e2e_notification', 'call_log', 'protocol', 'revoked', 'ciphertext', 'oversized', 'unknown',
  ]);

  // --- Connection to the simulated servers ------------------------------------------------
  function wsSend(frame) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
    state.ws.send(JSON.stringify(frame));
    return true;
  }
  function request(type, payload) {
    return new Promise((resolve, reject) => {
      const req = ++state.reqSeq;
      if (!state.open || !wsSend({ type, req, ...payload })) {
        reject(new WPPError('offline', 'Not connected to WhatsApp'));
        return;
      }
      pendingRequests.set(req, { resolve, reject });
    });
  }
  function connect() {
    if (state.reloading) return;
    set(Socket, 'state', 'OPENING');
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
    state.ws = ws;
    ws.onopen = () => {
      const { device_id, secret, phone } = state.identity;
      ws.send(JSON.stringify({ type: 'hello', device_id, secret, phone }));
    };
    ws.onmessage = (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      onFrame(frame);
    };
    ws.onclose = () => {
      if (state.ws !== ws) return;
      state.ws = null;
      state.open = false;
      // The socket dropped: WhatsApp Web shows "Computer not connected" (stream info OFFLINE)
      // and keeps retrying. NetworkStatus (the browser's own network) does not change.
      set(Socket, 'state', 'TIMEOUT');
      set(Stream, 'info', 'OFFLINE');
      pendingRequests.forEach(({ reject }) => reject(new WPPError('offline', 'Connection lost')));
      pendingRequests.clear();
      render();
      if (!state.reloading) setTimeout(connect, state.retryMs);
    };
  }
  function accepted() {
    state.open = true;
    state.retryMs = 1000;
  }
  function syncThenMain() {
    // Stands in for the history sync between login and a usable main screen.
    set(Stream, 'mode', 'SYNCING');
    set(Stream, 'info', 'SYNCING');
    setTimeout(() => {
      if (!state.authenticated || !state.open) return;
      set(Socket, 'state', 'CONNECTED');
      set(Stream, 'info', 'NORMAL');
      set(Stream, 'mode', 'MAIN');
      if (!Cmd.isMainLoaded) {
        Cmd.isMainLoaded = true;
        Cmd.trigger('main_loaded');
      }
      render();
    }, SYNC_MS);
  }

  function onFrame(frame) {
    const waiter = frame.req !== undefined && pendingRequests.get(frame.req);
    if (waiter) {
      pendingRequests.delete(frame.req);
      waiter.resolve(frame);
      return;
    }
    switch (frame.type) {
      case 'qr': {
        accepted();
        const { type, ref, staticKeyPair, identityKeyPair, secretKey, fullCode } = frame.code;
        Conn.authCode = { type, ref, staticKeyPair, identityKeyPair, secretKey, fullCode };
        set(Socket, 'state', 'UNPAIRED');
        set(Stream, 'info', 'PAIRING');
        set(Stream, 'mode', 'QR');
        set(Conn, 'ref', ref);
        render();
        break;
      }
      case 'session':
        accepted();
        if (!state.authenticated) {
          state.authenticated = true;
          state.me = frame.phone;
          learnMapping(frame.lid, frame.phone);
          Conn.lid = frame.lid || null;
          syncThenMain();
        } else {
          set(Socket, 'state', 'CONNECTED');
          set(Stream, 'info', 'NORMAL');
        }
        render();
        flushOutgoing();
        break;
      case 'paired':
        state.authenticated = true;
        state.me = frame.phone;
        Conn.lid = frame.lid || null;
        learnMapping(frame.lid, frame.phone);
        state.linkCode = null;
        Conn.authCode = null;
        set(Conn, 'ref', null);
        state.identity.phone = frame.phone;
        saveIdentity(state.identity).catch((e) => console.error('could not store identity', e));
        syncThenMain();
        render();
        break;
      case 'logged_out':
      case 'rejected':
        logoutLocally();
        break;
      case 'unavailable':
        state.retryMs = Math.max(250, Math.round((frame.retry_in || 1) * 1000));
        break;
      case 'event':
        onEvent(frame);
        break;
      case 'freeze':
        freeze();
        break;
      case 'unfreeze':
        thaw();
        break;
      case 'reload':
        // WhatsApp Web reloads itself (a new version, a conflict): every script of the old
        // document, an injected wa-js included, is gone.
        state.reloading = true;
        setTimeout(() => location.reload(), 50);
        break;
      default:
        break;
    }
  }

  function chatJidOf(p) {
    return p.from_lid ? p.from_lid : jidOfPhone(p.from);
  }
  function onEvent(frame) {
    if (frame.eseq > state.lastEseq) {
      state.lastEseq = frame.eseq;
      const p = frame.payload;
      if (frame.kind === 'message') {
        if (p.from_lid && p.from && p.share_pn) learnMapping(p.from_lid, p.from);
        addMsg(msgFromPayload(p, true));
        storeMsg(p);
      } else if (frame.kind === 'ack') {
        const msg = MsgStore.models.get(makeKey(true, makeWid(p.chat), p.msg_id)._serialized);
        if (msg && p.ack > msg.ack) setAck(msg, p.ack);
        // A receipt for a message this page does not hold (sent by another page of the same
        // number) still reaches WhatsApp Web's receipt handler.
        receiptHandlers.forEach((fn) => fn({ ack: p.ack, from: makeWid(p.chat), externalIds: [p.msg_id] }));
      }
    }
    wsSend({ type: 'recv', upto: frame.eseq });
  }
  const receiptHandlers = [];

  // A received message as WhatsApp Web's MsgModel holds it (wa-js whatsapp/models/MsgModel.ts):
  // a media message's body is its JPEG thumbnail and its text the caption; the file itself is
  // not in the message but on the media servers (mediaData.directPath, filehash), fetched by
  // msg.downloadMedia(); a location's text is `loc` ("name\naddress"); a contact card's
  // vCard is its body.
  const MEDIA_OBJECT_TYPES = { image: 'IMAGE', video: 'VIDEO', audio: 'AUDIO', ptt: 'PTT', document: 'DOCUMENT', sticker: 'STICKER' };
  function msgFromPayload(p, isNew) {
    const remote = makeWid(chatJidOf(p));
    const type = p.type || 'chat';
    const msg = {
      id: makeKey(false, remote, p.msg_id), from: remote, to: makeWid(jidOfPhone(p.to)),
      body: p.body, type, subtype: p.subtype || null, t: p.t, ack: 1,
      isNewMsg: isNew, self: 'in', notifyName: p.push_name || '',
      caption: p.caption, mimetype: p.mimetype, filename: p.filename, size: p.size,
      duration: p.duration, width: p.width, height: p.height, isViewOnce: !!p.is_view_once,
      isForwarded: !!p.is_forwarded, lat: p.lat, lng: p.lng, loc: p.loc,
    };
    if (type === 'vcard') msg.vcardFormattedName = p.vcard_name || '';
    if (p.direct_path) {
      msg.filehash = p.filehash;
      msg.directPath = p.direct_path;
      msg.mediaKey = p.media_key;
      msg.isCaptionByUser = p.caption !== undefined && p.caption !== null;
      msg.mediaData = {
        type, mimetype: p.mimetype, size: p.size, filehash: p.filehash, directPath: p.direct_path,
        mediaStage: 'INIT', mediaBlob: null,
      };
      msg.mediaObject = { type: MEDIA_OBJECT_TYPES[type] || 'DOCUMENT' };
      msg.downloadMedia = () => downloadMsgMedia(msg);
    }
    return msg;
  }
  // WhatsApp Web's download manager: fetch the file from the media servers by its directPath,
  // keep it in the persistent LRU cache by filehash (LruMediaStore). A failed download resolves
  // with the stage set to an error; the caller finds nothing in the cache.
  async function downloadMsgMedia(msg) {
    const data = msg.mediaData;
    try {
      const response = await fetch('/mms/' + String(data.directPath).split('/').pop(), { cache: 'no-store' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      lruMedia.put(data.filehash, await response.arrayBuffer());
      data.mediaStage = 'RESOLVED';
    } catch (e) {
      data.mediaStage = 'ERROR_MISSING';
    }
  }
  // LruMediaStore: files by filehash, oldest evicted past a byte budget (the newest always kept).
  const LRU_MEDIA_BYTES = 8 * 1024 * 1024;
  const lruMedia = {
    entries: new Map(),
    bytes: 0,
    put(hash, buffer) {
      this.remove(hash);
      this.entries.set(hash, buffer);
      this.bytes += buffer.byteLength;
      while (this.bytes > LRU_MEDIA_BYTES && this.entries.size > 1) this.remove(this.entries.keys().next().value);
    },
    remove(hash) {
      const old = this.entries.get(hash);
      if (old === undefined) return;
      this.entries.delete(hash);
      this.bytes -= old.byteLength;
    },
    async get(hash) {
      const buffer = this.entries.get(hash);
      if (buffer === undefined) return undefined;
      this.entries.delete(hash);
      this.entries.set(hash, buffer); // most recently used
      return buffer;
    },
  };

  // WhatsApp Web keeps the messages it received in IndexedDB ("model-storage"), so a reloaded
  // page (or one reopened from the same profile) still finds an older message by its id.
  const MODEL_DB = 'model-storage';
  const modelDb = new Promise((resolve) => {
    try {
      const open = indexedDB.open(MODEL_DB, 1);
      open.onupgradeneeded = () => open.result.createObjectStore('message', { keyPath: 'key' });
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => resolve(null);
    } catch (e) { resolve(null); }
  });
  function storeMsg(p) {
    modelDb.then((db) => {
      if (!db) return;
      try {
        const { body, ...rest } = p; // thumbnails stay out of the index, as on WhatsApp Web
        const key = 'false_' + chatJidOf(p) + '_' + p.msg_id;
        db.transaction('message', 'readwrite').objectStore('message').put({ key, payload: rest, body });
      } catch (e) { console.error('could not store message', e); }
    });
  }
  async function loadMsg(serialized) {
    const db = await modelDb;
    if (!db) return undefined;
    const row = await new Promise((resolve) => {
      try {
        const request = db.transaction('message', 'readonly').objectStore('message').get(serialized);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => resolve(undefined);
      } catch (e) { resolve(undefined); }
    });
    if (!row) return undefined;
    // Loaded from storage, not received: not new (no chat.new_message), not unread.
    const msg = msgFromPayload(Object.assign({}, row.payload, { body: row.body }), false);
    if (MsgStore.models.has(msg.id._serialized)) return MsgStore.models.get(msg.id._serialized);
    Object.assign(msg, emitter());
    MsgStore.models.set(msg.id._serialized, msg);
    return msg;
  }
  // WhatsApp's uploadMedia: the file goes to the media servers first; the message that is
  // sent then refers to it.
  async function uploadMedia(blob, kind) {
    if (!state.open) throw new WPPError('offline', 'Not connected to WhatsApp');
    let response;
    try {
      response = await fetch('/mms/upload?type=' + encodeURIComponent(kind), { method: 'POST', body: blob });
    } catch (e) {
      throw new WPPError('upload_failed', 'Media upload failed: ' + e);
    }
    const answer = await response.json().catch(() => ({}));
    if (response.status === 413) throw new WPPError('file_too_large', 'The media servers refused the file size');
    if (!response.ok) throw new WPPError('upload_failed', answer.error || 'HTTP ' + response.status);
    return answer;
  }

  async function logoutLocally() {
    if (state.reloading) return;
    state.reloading = true;
    thaw();
    const wasAuthenticated = state.authenticated;
    state.authenticated = false;
    state.me = null;
    Conn.authCode = null;
    if (wasAuthenticated || state.identity.phone) Cmd.trigger('logout');
    try { await wipeIdentity(); } catch (e) { console.error('could not wipe identity', e); }
    render();
    // WhatsApp Web reloads itself after a logout and comes back on the QR screen.
    setTimeout(() => location.reload(), 300);
  }

  // --- Sending (WhatsApp Web's addAndSendMsgToChat) ---------------------------------------
  // Resolves to [message, sendResult]; the result settles with the server's answer: for a
  // connection that is down the message waits (ack 0, the clock) and goes when it is back.
  function addAndSendMsgToChat(chat, raw) {
    const msg = addMsg(Object.assign(raw, { ack: 0, isNewMsg: true, self: 'out', local: true }));
    const result = new Promise((resolve) => outgoing.push({ msg, resolve }));
    flushOutgoing();
    return [Promise.resolve(msg), result];
  }
  function dispatchOutgoing(item) {
    const { msg } = item;
    if (!state.open) { outgoing.push(item); return; }
    const frame = { id: msg.id.id, chat: msg.id.remote._serialized, body: msg.type === 'chat' || msg.type === 'vcard' ? msg.body : msg.caption };
    if (msg.type !== 'chat') {
      frame.msg_type = msg.type;
      frame.media = msg.outMedia || null;
    }
    request('send', frame).then((answer) => {
      if (answer.ok) {
        setAck(msg, Math.max(msg.ack, 1));
        item.resolve({ messageSendResult: 'OK', t: answer.t });
      } else {
        setAck(msg, -1); // ACK.FAILED
        item.resolve({ messageSendResult: 'ERROR_UNKNOWN' });
      }
    }, () => outgoing.push(item)); // lost with the connection: resent on reconnect
  }
  function flushOutgoing() {
    if (!state.open) return;
    outgoing.splice(0).forEach(dispatchOutgoing);
  }

  // WhatsApp's findOrCreateLatestChat: a phone whose chat lives under a LID resolves to the
  // LID chat; a number that is not on WhatsApp has no chat.
  async function findOrCreateLatestChat(wid) {
    if (wid.isLid()) return { chat: chatFor(wid._serialized), created: false };
    const known = lidPn.byPn.get(wid._serialized);
    if (known) return { chat: chatFor(known), created: false };
    if (ChatStore.models.has(wid._serialized)) return { chat: ChatStore.models.get(wid._serialized), created: false };
    const answer = await request('query_exists', { user: wid._serialized });
    if (!answer.exists) throw new WPPError('chat_not_found', 'Chat not found for ' + wid._serialized);
    if (answer.lid) {
      learnMapping(answer.lid, '+' + wid.user);
      return { chat: chatFor(answer.lid), created: true };
    }
    return { chat: chatFor(wid._serialized), created: true };
  }
  function sendSeen(chat) {
    // Read receipts for the whole chat (what markIsRead does on WhatsApp Web).
    const unread = chat.unreadCount;
    chat.unreadCount = 0;
    const ids = chat.msgs.filter((m) => !m.id.fromMe).map((m) => m.id.id);
    if (ids.length) wsSend({ type: 'read', chat: chat.id._serialized, ids });
    return unread;
  }

  // --- Screen --------------------------------------------------------------------------
  function drawPseudoQr(canvas, text) {
    // Looks like a QR to a human; the real, scannable QR is rendered by Blazz in Python.
    const size = canvas.width;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, size, size);
    let h = 2166136261;
    ctx.fillStyle = '#000';
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        h = Math.imul(h ^ text.charCodeAt((x + y * size) % text.length), 16777619);
        if ((h >>> 7) & 1) ctx.fillRect(x, y, 1, 1);
      }
    }
    [[0, 0], [size - 7, 0], [0, size - 7]].forEach(([x, y]) => {
      ctx.fillStyle = '#fff'; ctx.fillRect(x - 1, y - 1, 9, 9);
      ctx.fillStyle = '#000'; ctx.fillRect(x, y, 7, 7);
      ctx.fillStyle = '#fff'; ctx.fillRect(x + 1, y + 1, 5, 5);
      ctx.fillStyle = '#000'; ctx.fillRect(x + 2, y + 2, 3, 3);
    });
  }
  // The message list is for a person watching the demo, not a modelled behaviour: drawn at
  // most every RENDER_MESSAGES_MS, so a burst of messages costs the renderer one layout, not
  // one per message (at 20 messages a second per page that was most of the benchmarks'
  // Chrome CPU). The screens of the login flow are drawn at once.
  const RENDER_MESSAGES_MS = 250;
  let renderScheduled = false;
  function renderSoon() {
    if (renderScheduled) return;
    renderScheduled = true;
    setTimeout(() => { renderScheduled = false; render(); }, RENDER_MESSAGES_MS);
  }
  function render() {
    const $ = (id) => document.getElementById(id);
    if (!$('app')) return;
    let screen = 'loading';
    if (state.authenticated && Stream.mode === 'MAIN') screen = 'main';
    else if (!state.authenticated && Conn.authCode) screen = 'landing';
    $('app').dataset.screen = screen;
    $('loading').hidden = screen !== 'loading';
    $('landing').hidden = screen !== 'landing';
    $('main').hidden = screen !== 'main';
    const code = (Conn.authCode && Conn.authCode.fullCode) || '';
    if ($('qr').dataset.ref !== code) {
      $('qr').dataset.ref = code;
      $('qr-text').textContent = code;
      if (code) drawPseudoQr($('qr-canvas'), code);
    }
    $('link-code-box').hidden = !state.linkCode;
    $('link-code').textContent = state.linkCode ? state.linkCode.slice(0, 4) + '-' + state.linkCode.slice(4) : '';
    $('me').textContent = state.me ? 'Logged in as ' + state.me : '';
    const online = Stream.info === 'NORMAL';
    $('net-status').dataset.online = String(online);
    $('net-status').textContent = online ? 'Connected' : 'Computer not connected — reconnecting…';
    const recent = [...MsgStore.models.values()].slice(-50);
    $('messages').replaceChildren(...recent.map((m) => {
      const li = document.createElement('li');
      li.className = m.id.fromMe ? 'out' : 'in';
      li.textContent = m.type === 'chat' ? m.body : '[' + m.type + '] ' + (m.caption || '');
      const meta = document.createElement('div');
      meta.className = 'meta';
      meta.textContent = (m.id.fromMe ? 'to ' : 'from ') + m.id.remote.user + ' · ack ' + m.ack;
      li.appendChild(meta);
      return li;
    }));
  }

  // --- Internal modules (what wa-js finds in WhatsApp Web's module system) ------------------
  window.__wasimApp = {
    Stream, Socket, Conn, Cmd, NetworkStatus, MsgStore, ChatStore, SYSTEM_TYPES, receiptHandlers,
    lidPnCache: {
      getPhoneNumber: (lid) => { const pn = lidPn.byLid.get(String(lid._serialized || lid)); return pn ? makeWid(pn) : undefined; },
      getCurrentLid: (pn) => { const lid = lidPn.byPn.get(String(pn._serialized || pn)); return lid ? makeWid(lid) : undefined; },
    },
    isLoggedIn: () => state.authenticated,
    isRegistered: () => !!(state.identity && state.identity.phone),
    me: () => (state.me ? makeWid(jidOfPhone(state.me)) : undefined),
    meLid: () => (Conn.lid ? makeWid(Conn.lid) : undefined),
    request,
    wsSend,
    findOrCreateLatestChat,
    addAndSendMsgToChat,
    sendSeen,
    uploadMedia,
    loadMsg,
    LruMediaStore: lruMedia,
    newId: () => '3EB0' + randomHex(8).toUpperCase(),
    logout: async () => {
      if (!state.authenticated) return false;
      const done = new Promise((resolve) => Cmd.on('logout', () => resolve(true)));
      if (!state.open || !wsSend({ type: 'logout' })) throw new WPPError('offline', 'Not connected to WhatsApp');
      return done;
    },
    linkCode: async (phone) => {
      const answer = await request('link_code', { phone });
      if (!answer.ok) throw new WPPError('link_code_failed', answer.error);
      state.linkCode = answer.code;
      render();
      return answer.code;
    },
    makeWid,
    makeKey,
  };

  // --- Start ---------------------------------------------------------------------------
  setInterval(() => { wsSend({ type: 'ping', req: ++state.reqSeq }); }, PING_MS);
  loadIdentity().then((identity) => {
    state.identity = identity;
    render();
    connect();
  }, (error) => {
    console.error('WhatsApp simulator could not open its storage', error);
  });
})();
