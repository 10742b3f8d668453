/* Simulated WhatsApp Web, part 2: the client. Exposes window.WPP with the subset of wa-js
 * (wppconnect-team/wa-js) that Blazz uses — same method names, event names and payload
 * shapes — talks to the simulated servers over /ws, and draws the QR and main screens.
 * Needs wa-base.js (window.__wasim) loaded first.
 */
(function () {
  'use strict';
  const {
    ev, WPPError, makeWid, jidOfPhone, toWid, makeKey, randomHex, thaw, freeze,
  } = window.__wasim;
  const { load: loadIdentity, save: saveIdentity, wipe: wipeIdentity } = window.__wasim.identity;

  // --- Connection to the simulated servers ---------------------------------------------
  const SYNC_MS = 300;
  const PING_MS = 5000;
  const state = {
    identity: null, ws: null, open: false, online: false, authenticated: false, mainLoaded: false,
    mainReady: false, authCode: null, me: null, linkCode: null, lastEseq: 0, reqSeq: 0,
    retryMs: 1000, reloading: false, ready: false,
  };
  const pendingRequests = new Map();
  const outgoing = [];
  const knownChats = new Set();
  const recentMessages = [];
  const queryCache = new Map();

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
  function setOnline(online) {
    if (state.online === online) return;
    state.online = online;
    ev.emit('conn.online', online);
    render();
  }
  function connect() {
    if (state.reloading) return;
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
      setOnline(false);
      pendingRequests.forEach(({ reject }) => reject(new WPPError('offline', 'Connection lost')));
      pendingRequests.clear();
      if (!state.reloading) setTimeout(connect, state.retryMs);
    };
  }
  function accepted() {
    state.open = true;
    state.retryMs = 1000;
    setOnline(true);
  }
  function mainLoadedSoon() {
    // Stands in for the history sync between login and a usable main screen.
    setTimeout(() => {
      if (!state.authenticated || state.mainReady) return;
      state.mainLoaded = true;
      ev.emit('conn.main_loaded');
      state.mainReady = true;
      ev.emit('conn.main_ready');
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
        const first = state.authCode === null;
        state.authCode = { type, ref, staticKeyPair, identityKeyPair, secretKey, fullCode };
        render();
        if (first) ev.emit('conn.require_auth');
        ev.emit('conn.auth_code_change', state.authCode);
        break;
      }
      case 'session':
        accepted();
        if (!state.authenticated) {
          // A restored login: wa-js emits no conn.authenticated here, only main_ready.
          state.authenticated = true;
          state.me = frame.phone;
          mainLoadedSoon();
        }
        render();
        flushOutgoing();
        break;
      case 'paired':
        state.authenticated = true;
        state.me = frame.phone;
        state.authCode = null;
        state.linkCode = null;
        state.identity.phone = frame.phone;
        saveIdentity(state.identity).catch((e) => console.error('could not store identity', e));
        ev.emit('conn.auth_code_change', null);
        ev.emit('conn.authenticated');
        render();
        mainLoadedSoon();
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
      default:
        break;
    }
  }

  function onEvent(frame) {
    if (frame.eseq > state.lastEseq) {
      state.lastEseq = frame.eseq;
      const p = frame.payload;
      if (frame.kind === 'message') {
        const from = makeWid(jidOfPhone(p.from));
        knownChats.add(from._serialized);
        const msg = {
          id: makeKey(false, from, p.msg_id), from, to: makeWid(jidOfPhone(p.to)), body: p.body, type: 'chat',
          t: p.t, ack: 1, isNewMsg: true, fromMe: false, self: 'in', notifyName: '',
        };
        remember(msg);
        ev.emit('chat.new_message', msg);
      } else if (frame.kind === 'ack') {
        const chat = makeWid(jidOfPhone(p.chat));
        const key = makeKey(true, chat, p.msg_id);
        const mine = recentMessages.find((m) => m.id._serialized === key._serialized);
        if (mine) mine.ack = Math.max(mine.ack, p.ack);
        ev.emit('chat.msg_ack_change', { ack: p.ack, chat, ids: [key] });
        render();
      }
    }
    wsSend({ type: 'recv', upto: frame.eseq });
  }

  async function logoutLocally() {
    if (state.reloading) return;
    state.reloading = true;
    thaw();
    const wasAuthenticated = state.authenticated;
    Object.assign(state, { authenticated: false, mainReady: false, mainLoaded: false, me: null, authCode: null });
    if (wasAuthenticated || state.identity.phone) ev.emit('conn.logout');
    try { await wipeIdentity(); } catch (e) { console.error('could not wipe identity', e); }
    render();
    // WhatsApp Web reloads itself after a logout and comes back on the QR screen.
    setTimeout(() => location.reload(), 300);
  }

  function remember(msg) {
    recentMessages.push(msg);
    if (recentMessages.length > 50) recentMessages.shift();
    render();
  }

  function dispatchOutgoing(item) {
    const { msg } = item;
    if (!state.open) { outgoing.push(item); return; }
    request('send', { id: msg.id.id, to: '+' + msg.to.user, body: msg.body }).then((answer) => {
      if (answer.ok) {
        msg.ack = Math.max(msg.ack, 1);
        ev.emit('chat.msg_ack_change', { ack: 1, chat: msg.to, ids: [msg.id] });
        item.resolve({ messageSendResult: 'OK' });
      } else {
        msg.ack = -1;
        item.resolve({ messageSendResult: 'ERROR_UNKNOWN', error: answer.error });
      }
      render();
    }, () => outgoing.push(item)); // lost with the connection: resent on reconnect
  }
  function flushOutgoing() {
    outgoing.splice(0).forEach(dispatchOutgoing);
  }

  async function sendTextMessage(chatId, content, options) {
    const opts = Object.assign({ createChat: false, waitForAck: true }, options || {});
    if (!state.authenticated) throw new WPPError('not_authenticated', 'Not authenticated');
    const to = toWid(chatId);
    if (!opts.createChat && !knownChats.has(to._serialized)) {
      throw new WPPError('chat_not_found', `Chat not found for ${to._serialized}`);
    }
    knownChats.add(to._serialized);
    // A caller-chosen id (wa-js `messageId`) makes a resend the same message on the servers.
    const chosen = opts.messageId && (typeof opts.messageId === 'string' ? opts.messageId : opts.messageId.id);
    const key = makeKey(true, to, chosen || '3EB0' + randomHex(10).toUpperCase());
    const msg = {
      id: key, from: makeWid(jidOfPhone(state.me)), to, body: String(content), type: 'chat',
      t: Math.floor(Date.now() / 1000), ack: 0, isNewMsg: true, fromMe: true, self: 'out',
    };
    let resolve;
    const sendMsgResult = new Promise((r) => { resolve = r; });
    remember(msg);
    ev.emit('chat.new_message', msg);
    dispatchOutgoing({ msg, resolve });
    if (opts.waitForAck) await sendMsgResult;
    return { id: key._serialized, ack: msg.ack, sendMsgResult };
  }

  async function sendQueryExists(wid) {
    const target = toWid(wid);
    const answer = await request('query_exists', { user: target.user });
    return answer.exists ? { wid: target, biz: false } : null;
  }

  // --- window.WPP ----------------------------------------------------------------------
  const conn = {
    getAuthCode: async () => (state.authenticated ? null : state.authCode),
    isAuthenticated: () => state.authenticated,
    isMainLoaded: () => state.mainLoaded,
    isMainReady: () => state.mainReady,
    isOnline: () => state.online,
    isMultiDevice: () => true,
    getMyUserId: () => (state.authenticated && state.me ? makeWid(jidOfPhone(state.me)) : undefined),
    logout: async () => {
      if (!state.authenticated) return false;
      // The servers answer with a logout push, not a reply; resolve when it has happened.
      const done = new Promise((resolve) => ev.once('conn.logout', () => resolve(true)));
      if (!state.open || !wsSend({ type: 'logout' })) throw new WPPError('offline', 'Not connected to WhatsApp');
      return done;
    },
    genLinkDeviceCodeForPhoneNumber: async (params, sendPushNotification) => {
      const phone = params && typeof params === 'object' ? params.phone : params;
      void sendPushNotification;
      if (!phone || typeof phone !== 'string') {
        throw new WPPError('send_the_phone_number_to_connect', "Can't get code for without phone number param");
      }
      if (state.authenticated) {
        throw new WPPError('cannot_get_code_for_already_authenticated', "Can't get code for already authenticated user");
      }
      const answer = await request('link_code', { phone });
      if (!answer.ok) throw new WPPError('link_code_failed', answer.error);
      state.linkCode = answer.code;
      render();
      return answer.code;
    },
  };
  const readiness = { isInjected: true };
  Object.defineProperty(readiness, 'isReady', { get: () => state.ready, enumerable: true });
  Object.defineProperty(readiness, 'isFullReady', { get: () => state.ready, enumerable: true });
  const WPP = {
    ev, on: ev.on, once: ev.once, off: ev.off, onAny: ev.onAny, emit: ev.emit,
    removeListener: ev.off, addListener: ev.on,
    webpack: readiness,
    conn,
    chat: { sendTextMessage },
    contact: {
      queryExists: async (contactId) => {
        // Cached like wa-js: only the first lookup of a number reaches the servers.
        const id = toWid(contactId)._serialized;
        if (!queryCache.has(id)) queryCache.set(id, await sendQueryExists(id));
        return queryCache.get(id);
      },
    },
    whatsapp: { functions: { sendQueryExists } },
  };
  Object.defineProperty(WPP, 'isInjected', { get: () => true, enumerable: true });
  Object.defineProperty(WPP, 'isReady', { get: () => state.ready, enumerable: true });
  Object.defineProperty(WPP, 'isFullReady', { get: () => state.ready, enumerable: true });
  window.WPP = WPP;

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
  function render() {
    const $ = (id) => document.getElementById(id);
    let screen = 'loading';
    if (state.mainReady) screen = 'main';
    else if (!state.authenticated && state.authCode) screen = 'landing';
    $('app').dataset.screen = screen;
    $('loading').hidden = screen !== 'loading';
    $('landing').hidden = screen !== 'landing';
    $('main').hidden = screen !== 'main';
    const code = (state.authCode && state.authCode.fullCode) || '';
    if ($('qr').dataset.ref !== code) {
      $('qr').dataset.ref = code;
      $('qr-text').textContent = code;
      if (code) drawPseudoQr($('qr-canvas'), code);
    }
    $('link-code-box').hidden = !state.linkCode;
    $('link-code').textContent = state.linkCode ? state.linkCode.slice(0, 4) + '-' + state.linkCode.slice(4) : '';
    $('me').textContent = state.me ? 'Logged in as ' + state.me : '';
    $('net-status').dataset.online = String(state.online);
    $('net-status').textContent = state.online ? 'Connected' : 'Computer not connected — reconnecting…';
    const list = $('messages');
    list.replaceChildren(...recentMessages.map((m) => {
      const li = document.createElement('li');
      li.className = m.fromMe ? 'out' : 'in';
      li.textContent = m.body;
      const meta = document.createElement('div');
      meta.className = 'meta';
      meta.textContent = (m.fromMe ? 'to ' + m.to.user : 'from ' + m.from.user) + ' · ack ' + m.ack;
      li.appendChild(meta);
      return li;
    }));
  }

  // --- Start ---------------------------------------------------------------------------
  setInterval(() => { wsSend({ type: 'ping', req: ++state.reqSeq }); }, PING_MS);
  loadIdentity().then((identity) => {
    state.identity = identity;
    state.ready = true;
    render();
    connect();
  }, (error) => {
    console.error('WhatsApp simulator could not open its storage', error);
  });
})();
