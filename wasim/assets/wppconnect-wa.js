/*! wppconnect-team/wa-js v4.6.0 (wasim stand-in) */
/* The simulator's stand-in for the wa-js 4.6.0 bundle (npm @wppconnect/wa-js). The driver
 * injects it exactly as it injects the real bundle: at document start, after
 * `window.WPPConfig`, on every navigation. Like the real one it assigns `window.WPP`
 * synchronously, then waits for WhatsApp Web's modules (here the simulator app's
 * `window.__wasimApp`), and only then starts emitting events. Each behaviour below follows
 * wa-js 4.6.0's sources; CONTRACT.md beside this file cites the file for each.
 */
(function () {
  'use strict';
  const VERSION = '4.6.0';
  const SETTLE_MS = 750; // src/loader: waitForMetaModulesSettle (module count stable 750 ms)
  const POLL_MS = 250; // src/loader: the loader polls for WhatsApp's module system

  // --- config (src/config/index.ts): read once at evaluation, merged over the defaults ---
  const defaultConfig = {
    deviceName: false, liveLocationLimit: 10, disableGoogleAnalytics: false, googleAnalyticsId: null,
    googleAnalyticsUserProperty: {}, linkPreviewApiServers: null, poweredBy: 'WA-JS',
    sendStatusToDevice: false, syncAllStatus: true,
  };
  const config = Object.assign({}, defaultConfig, window.WPPConfig || {});
  window.WPPConfig = config;

  // --- emitter (src/eventEmitter: eventemitter2; no replay for late listeners) -----------
  const listeners = new Map();
  const anyListeners = [];
  const ev = {
    on(name, fn) { (listeners.get(name) || listeners.set(name, []).get(name)).push(fn); return ev; },
    once(name, fn) { const w = (...a) => { ev.off(name, w); fn(...a); }; return ev.on(name, w); },
    off(name, fn) { const l = listeners.get(name) || []; const i = l.indexOf(fn); if (i >= 0) l.splice(i, 1); return ev; },
    onAny(fn) { anyListeners.push(fn); return ev; },
    emit(name, ...args) {
      [...anyListeners].forEach((fn) => { try { fn(name, ...args); } catch (e) { console.error(e); } });
      const list = [...(listeners.get(name) || [])];
      list.forEach((fn) => { try { fn(...args); } catch (e) { console.error(e); } });
      return list.length > 0;
    },
  };

  class WPPError extends Error {
    constructor(code, message, extra) { super(message || code); this.code = code; Object.assign(this, extra || {}); }
  }

  // --- telemetry (src/gtag/index.ts): on unless disableGoogleAnalytics before load ---------
  function thirdParty(what, detail) {
    try {
      navigator.sendBeacon('/third-party', JSON.stringify({ what, detail }));
    } catch (e) { /* a beacon never throws into the caller */ }
  }

  let app = null;
  const loader = {
    isInjected: false, isReady: false, isFullReady: false, loaderType: 'meta',
    // src/loader/index.ts: plain listeners; one added after the event fired is never called.
    onInjected(fn, delay = 0) { ev.on('loader.injected', () => setTimeout(fn, delay)); },
    onReady(fn, delay = 0) { ev.on('loader.ready', () => setTimeout(fn, delay)); },
    onFullReady(fn, delay = 0) { ev.on('loader.full_ready', () => setTimeout(fn, delay)); },
  };

  function needApp() {
    if (!app) throw new WPPError('module_not_found', 'WhatsApp Web modules are not loaded yet');
    return app;
  }
  function toWid(id) {
    const raw = id && typeof id === 'object' ? id._serialized : id;
    if (typeof raw !== 'string') throw new WPPError('invalid_wid', 'Invalid WID value for ' + id);
    const text = raw.trim();
    const jid = text.includes('@') ? text : text.replace(/^\+/, '') + '@c.us';
    if (!/^[0-9]+@(c\.us|lid|g\.us)$/.test(jid)) throw new WPPError('invalid_wid', 'Invalid WID value for ' + raw);
    return needApp().makeWid(jid);
  }
  function keyFromString(text) {
    return window.__wasim.keyFromString(text);
  }

  // --- conn (src/conn) -------------------------------------------------------------------
  let mainReady = false;
  const conn = {
    getStreamData: () => ({ mode: needApp().Stream.mode, info: needApp().Stream.info }),
    isAuthenticated: () => !!(app && app.isLoggedIn()),
    isRegistered: () => !!(app && app.isRegistered()),
    isMainReady: () => mainReady,
    isMainLoaded: () => !!(app && app.Cmd.isMainLoaded),
    isOnline: () => !!(app && app.NetworkStatus.online), // the browser's network, not the socket
    isIdle: () => !!(app && app.Socket.state === 'UNPAIRED_IDLE'),
    isMultiDevice: () => true,
    getMyUserId: () => (app ? app.me() : undefined),
    getMyUserLid: () => {
      const lid = needApp().meLid();
      if (!lid) throw new WPPError('lid_not_found', 'My LID is not known');
      return lid;
    },
    getAuthCode: async () => {
      const a = needApp();
      if (!a.Conn.ref || a.isLoggedIn()) return null;
      return a.Conn.authCode;
    },
    logout: async () => needApp().logout(),
    genLinkDeviceCodeForPhoneNumber: async (phone, sendPushNotification = true) => {
      void sendPushNotification;
      if (!phone || typeof phone !== 'string') {
        throw new WPPError('send_the_phone_number_to_connect', "Can't get code for without phone number param");
      }
      if (conn.isAuthenticated()) {
        throw new WPPError('cannot_get_code_for_already_authenticated', "Can't get code for already authenticated user");
      }
      return needApp().linkCode(phone);
    },
  };

  // --- chat (src/chat) -------------------------------------------------------------------
  // src/chat/defaultSendMessageOptions.ts
  const defaultSendMessageOptions = { detectMentioned: true, linkPreview: true, markIsRead: true, waitForAck: true, delay: 0 };

  async function find(chatId) {
    const { chat } = await needApp().findOrCreateLatestChat(toWid(chatId));
    if (!chat) throw new WPPError('chat_not_found', 'Chat not found for ' + chatId);
    return chatModel(chat);
  }
  function get(chatId) {
    const chat = needApp().ChatStore.models.get(toWid(chatId)._serialized);
    return chat ? chatModel(chat) : undefined;
  }
  function chatModel(chat) {
    return {
      id: chat.id, t: chat.t, unreadCount: chat.unreadCount,
      get hasUnread() { return chat.unreadCount !== 0; },
      isGroup: chat.id.isGroup(), isUser: chat.id.isUser(),
      msgs: { getModelsArray: () => chat.msgs.slice() },
    };
  }
  function assertGetChat(chatId) {
    const chat = needApp().ChatStore.models.get(toWid(chatId)._serialized);
    if (!chat) throw new WPPError('chat_not_found', 'Chat not found for ' + chatId);
    return chat;
  }
  async function generateMessageID(chatLike) {
    const a = needApp();
    const chat = typeof chatLike === 'object' && chatLike.id ? chatLike : await find(chatLike);
    const from = chat.id.isLid() ? a.meLid() : a.me();
    const key = a.makeKey(true, chat.id, a.newId());
    key.from = from;
    return key;
  }
  // src/chat/functions/sendTextMessage.ts -> sendRawMessage.ts -> prepareRawMessage.ts
  async function sendTextMessage(chatId, content, options = {}) {
    const opts = Object.assign({}, defaultSendMessageOptions, options);
    if (opts.linkPreview && typeof content === 'string' && /https?:\/\//.test(content)) {
      // src/chat/functions/prepareLinkPreview.ts via src/util/linkPreview.ts: third-party servers.
      thirdParty('link_preview', (config.linkPreviewApiServers || ['wa-js default servers']).join(','));
    }
    return sendRawMessage(chatId, { body: String(content), type: 'chat' }, opts);
  }
  // src/chat/functions/prepareRawMessage.ts: the key (a caller's messageId must be a serialized
  // key from me, of this chat), then src/chat/functions/sendRawMessage.ts.
  async function messageKeyFor(chat, opts) {
    const a = needApp();
    let key;
    if (opts.messageId) {
      key = typeof opts.messageId === 'string' ? keyFromString(opts.messageId) : opts.messageId;
      if (!key.fromMe) {
        throw new WPPError('message_key_is_not_from_me', 'Message key is not from me', { messageId: opts.messageId });
      }
      if (!chat.id.equals(key.remote)) {
        throw new WPPError('message_key_remote_id_is_not_same_of_chat', 'Message key remote ID is not same of chat', {
          messageId: opts.messageId,
        });
      }
      key = a.makeKey(true, chat.id, key.id);
    } else {
      key = await generateMessageID(chat);
    }
    return key;
  }
  async function sendRawMessage(chatId, fields, options = {}) {
    const opts = Object.assign({}, defaultSendMessageOptions, options);
    const a = needApp();
    const chat = await find(chatId); // assertFindChat: creates the chat when missing
    const key = await messageKeyFor(chat, opts);
    if (opts.markIsRead) a.sendSeen(assertGetChat(chat.id)); // errors ignored in wa-js
    const raw = Object.assign({
      id: key, t: Math.floor(Date.now() / 1000), from: chat.id.isLid() ? a.meLid() : a.me(), to: chat.id,
    }, fields);
    const result = a.addAndSendMsgToChat(assertGetChat(chat.id), raw);
    const message = await result[0];
    let sendMsgResult = null; // null unless waitForAck (sendRawMessage.ts, since 3.19.3)
    if (opts.waitForAck) sendMsgResult = await result[1];
    return { id: message.id.toString(), ack: message.ack, from: String(raw.from), to: chat.id.toString(), sendMsgResult };
  }

  // --- media (src/chat/functions/sendFileMessage.ts, downloadMedia.ts, sendLocationMessage.ts,
  // sendVCardContactMessage.ts) -----------------------------------------------------------------
  // src/util/convertToFile.ts: a File is used as is; a Blob, a data URL, bare base64 or an URL
  // (fetched) become a File named and typed by the options, else by sniffing, else
  // 'unknown' / application/octet-stream.
  async function convertToFile(data, mimetype, filename) {
    if (data instanceof File) return data;
    let blob;
    if (typeof data === 'string' && /^https?:\/\//.test(data)) {
      blob = await (await fetch(data)).blob();
    } else if (typeof data === 'string') {
      const match = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(data) || (/^[A-Za-z0-9+/=\s]+$/.test(data) ? [null, '', ';base64', data] : null);
      if (!match) throw 'invalid_data_url';
      mimetype = mimetype || match[1] || undefined;
      const bytes = match[2] ? Uint8Array.from(atob(match[3].replace(/\s/g, '')), (c) => c.charCodeAt(0)) : new TextEncoder().encode(decodeURIComponent(match[3]));
      blob = new Blob([bytes], { type: mimetype || '' });
    } else {
      blob = data;
    }
    if (!filename || !mimetype) {
      mimetype = mimetype || blob.type || 'application/octet-stream';
      filename = filename || 'unknown';
    }
    return new File([blob], filename, { type: mimetype, lastModified: Date.now() });
  }
  // WhatsApp's MediaGatingUtils.getUploadLimit, per media type (fileHelpers.getMediaTypeForValidation).
  const UPLOAD_LIMITS = { document: 100 * 1024 * 1024 };
  function uploadLimit(kind) { return UPLOAD_LIMITS[kind] || 16 * 1024 * 1024; }
  function kindOf(options, file) {
    if (options.type === 'audio') return options.isPtt ? 'ptt' : 'audio';
    if (['image', 'video', 'document', 'sticker'].includes(options.type)) return options.type;
    const major = String(file.type).split('/')[0]; // 'auto-detect'
    return major === 'image' || major === 'video' || major === 'audio' ? major : 'document';
  }
  async function imageSize(file) {
    try {
      const bitmap = await createImageBitmap(file);
      const size = { width: bitmap.width, height: bitmap.height };
      bitmap.close();
      return size;
    } catch (e) {
      return {};
    }
  }
  async function sendFileMessage(chatId, content, options = {}) {
    const opts = Object.assign({}, defaultSendMessageOptions, { type: 'auto-detect', waveform: true }, options);
    const a = needApp();
    const chat = await find(chatId);
    const file = await convertToFile(content, opts.mimetype, opts.filename);
    const kind = kindOf(opts, file);
    const limit = uploadLimit(kind === 'ptt' ? 'audio' : kind);
    if (file.size > limit) {
      throw new WPPError('file_too_large', 'File size ' + file.size + ' exceeds the upload limit of ' + limit, { fileSize: file.size, limit, mediaType: kind });
    }
    const key = await messageKeyFor(chat, opts);
    if (opts.markIsRead) a.sendSeen(assertGetChat(chat.id));
    const uploaded = await a.uploadMedia(file, kind);
    const dims = kind === 'image' || kind === 'sticker' ? await imageSize(file) : {};
    const isViewOnce = kind === 'image' || kind === 'video' || kind === 'ptt' ? !!opts.isViewOnce : undefined;
    // prepareRawMessage: the caption defaults to the file name (isCaptionByUser tells them apart).
    const caption = opts.caption || file.name;
    const raw = {
      id: key, t: Math.floor(Date.now() / 1000), from: chat.id.isLid() ? a.meLid() : a.me(), to: chat.id,
      type: kind, caption, filename: file.name, mimetype: file.type, size: file.size,
      isCaptionByUser: opts.caption != undefined, isViewOnce, isGif: kind === 'video' ? !!opts.isGif : undefined,
      width: dims.width, height: dims.height, body: '',
      outMedia: {
        sha256: uploaded.sha256, mimetype: file.type, filename: file.name, size: file.size,
        caption: opts.caption === undefined ? null : opts.caption, isViewOnce: !!isViewOnce,
        width: dims.width, height: dims.height,
      },
    };
    const result = a.addAndSendMsgToChat(assertGetChat(chat.id), raw);
    const message = await result[0];
    let sendMsgResult = null;
    if (opts.waitForAck) sendMsgResult = await result[1];
    return { id: message.id.toString(), ack: message.ack, sendMsgResult };
  }
  async function sendLocationMessage(chatId, options) {
    const opts = Object.assign({}, defaultSendMessageOptions, options);
    const loc = opts.name && opts.address ? opts.name + '\n' + opts.address : opts.name || opts.address || '';
    const lat = typeof opts.lat === 'string' ? parseFloat(opts.lat) : opts.lat;
    const lng = typeof opts.lng === 'string' ? parseFloat(opts.lng) : opts.lng;
    return sendRawMessage(chatId, {
      type: 'location', lat, lng, loc, clientUrl: opts.url, body: '',
      outMedia: { lat, lng, loc, url: opts.url || null },
    }, opts);
  }
  // WhatsApp's VCard.vcardFromContactModel: the card is made from a contact id and name.
  function vcardOf(id, name) {
    const user = String(id).split('@')[0];
    const display = name || '+' + user;
    return 'BEGIN:VCARD\nVERSION:3.0\nN:;' + display + ';;;\nFN:' + display +
      '\nTEL;type=CELL;type=VOICE;waid=' + user + ':+' + user + '\nEND:VCARD';
  }
  async function sendVCardContactMessage(chatId, contacts, options = {}) {
    const opts = Object.assign({}, defaultSendMessageOptions, options);
    const list = Array.isArray(contacts) ? contacts : [contacts];
    const cards = list.map((contact) => {
      const isNamed = typeof contact === 'object' && contact && 'name' in contact;
      const id = toWid(isNamed ? contact.id : contact)._serialized;
      const name = isNamed ? contact.name : '';
      return { vcard: vcardOf(id, name), displayName: name || '+' + id.split('@')[0] };
    });
    const fields = cards.length === 1
      ? { type: 'vcard', body: cards[0].vcard, vcardFormattedName: cards[0].displayName,
          outMedia: { vcard: cards[0].vcard, vcardFormattedName: cards[0].displayName } }
      : { type: 'multi_vcard', vcardList: cards, body: '', outMedia: { vcardList: cards } };
    return sendRawMessage(chatId, fields, opts);
  }
  async function downloadMedia(id) {
    const msg = await getMessageById(id);
    if (!msg.mediaData) {
      throw new WPPError('message_not_contains_media', 'Message ' + id + ' not contains media', { id });
    }
    const data = msg.mediaData;
    const a = needApp();
    const fromCache = async () => {
      const buffer = data.filehash ? await a.LruMediaStore.get(data.filehash) : undefined;
      return buffer ? new Blob([buffer], { type: data.mimetype || 'application/octet-stream' }) : null;
    };
    const cached = await fromCache();
    if (cached) return cached;
    await msg.downloadMedia({ downloadEvenIfExpensive: true, rmrReason: 1, isUserInitiated: true });
    const blob = await fromCache();
    // eslint-disable-next-line no-throw-literal
    if (!blob) throw { error: true, code: 'media_not_found', message: 'Media not found' };
    return blob;
  }
  async function getMessageById(id) {
    const key = keyFromString(typeof id === 'string' ? id : id._serialized);
    const msg = needApp().MsgStore.models.get(key._serialized);
    if (msg) return msg;
    // Not loaded: WhatsApp Web looks in its own storage (a message received before a reload).
    const stored = await needApp().loadMsg(key._serialized);
    if (stored) return stored;
    assertGetChat(key.remote);
    throw new WPPError('msg_not_found', 'Message not found', { id });
  }
  async function list(options = {}) {
    let chats = [...needApp().ChatStore.models.values()].map(chatModel);
    if (options.onlyUsers) chats = chats.filter((c) => c.isUser);
    if (options.onlyGroups) chats = chats.filter((c) => c.isGroup);
    if (options.onlyWithUnreadMessage) chats = chats.filter((c) => c.hasUnread);
    chats.sort((x, y) => y.t - x.t);
    if (options.count) chats = chats.slice(0, options.count);
    return chats;
  }
  // src/chat/functions/getMessages.ts: the last `count` messages (loaded ones only, here).
  async function getMessages(chatId, options = {}) {
    const chat = assertGetChat(chatId);
    let count = options.count === undefined ? 20 : options.count;
    if (options.onlyUnread) {
      if (!chat.unreadCount) return [];
      count = Math.min(count < 0 ? Infinity : count, chat.unreadCount);
    }
    const msgs = chat.msgs.filter((m) => m.type !== 'call_log' || options.includeCallMessages);
    const picked = count < 0 ? msgs : msgs.slice(-count);
    if (options.onlyUnread) picked.forEach((m) => { m.isNewMsg = true; });
    return picked;
  }
  async function markIsRead(chatId) {
    const chat = assertGetChat(chatId);
    return { wid: chat.id, unreadCount: needApp().sendSeen(chat) };
  }

  // --- contact (src/contact) ---------------------------------------------------------------
  // src/contact/functions/getPnLidEntry.ts: @lid -> the local cache only; @c.us -> the cache,
  // else a server query.
  async function getPnLidEntry(contactId) {
    const wid = toWid(contactId);
    const a = needApp();
    const plain = (w) => (w ? { id: w.user, server: w.server, _serialized: w._serialized } : undefined);
    if (wid.isLid()) return { lid: plain(wid), phoneNumber: plain(a.lidPnCache.getPhoneNumber(wid)) };
    if (wid.server !== 'c.us') throw new WPPError('invalid_wid', 'Invalid WID for getPnLidEntry');
    let lid = a.lidPnCache.getCurrentLid(wid);
    if (!lid) {
      const found = await queryWidExistsCached(wid);
      lid = found && found.lid ? a.makeWid(found.lid) : undefined;
    }
    return { lid: plain(lid), phoneNumber: plain(wid) };
  }
  // src/whatsapp/functions/sendQueryExists.ts: WhatsApp's USync query, a server round trip
  // every time; rejects when the socket is down.
  async function queryWidExistsRaw(wid) {
    const target = toWid(wid);
    const answer = await needApp().request('query_exists', { user: target._serialized });
    if (!answer.exists) return null;
    return { wid: target, biz: false, lid: answer.lid || undefined };
  }
  // src/contact/functions/queryWidExists.ts: the contact store and a promise cache first
  // (5 min for hits, 15 s for misses); errors become null.
  const existsCache = new Map();
  async function queryWidExistsCached(contactId) {
    const wid = toWid(contactId);
    const a = needApp();
    if (a.ChatStore.models.has(wid._serialized)) return { wid, biz: false };
    const cached = existsCache.get(wid._serialized);
    if (cached && cached.until > Date.now()) return cached.value;
    let value = null;
    try { value = await queryWidExistsRaw(wid); } catch (e) { value = null; }
    existsCache.set(wid._serialized, { value, until: Date.now() + (value ? 300000 : 15000) });
    return value;
  }

  // --- events (src/conn/events, src/chat/events) -----------------------------------------------
  function registerEvents() {
    const a = app;
    // registerStreamEvent.ts: the current mode at injection, then every change.
    const modeChanged = (mode) => {
      if (!mode) return;
      ev.emit('conn.stream_mode_changed', mode);
      // registerMainReadyEvent.ts: the first MAIN *or QR* mode, once per page.
      if (!mainReady && (mode === 'MAIN' || mode === 'QR')) {
        mainReady = true;
        ev.emit('conn.main_ready');
      }
    };
    a.Stream.on('change:mode', (_m, mode) => modeChanged(mode));
    a.Stream.on('change:info', (_m, info) => ev.emit('conn.stream_info_changed', info));
    modeChanged(a.Stream.mode);
    if (a.Stream.info) ev.emit('conn.stream_info_changed', a.Stream.info);
    // registerAuthCodeChangeEvent.ts
    const authCode = () => (a.Conn.ref && !a.isLoggedIn() ? a.Conn.authCode : null);
    ev.emit('conn.auth_code_change', authCode());
    a.Conn.on('change:ref', () => ev.emit('conn.auth_code_change', authCode()));
    // registerAuthenticatedEvent.ts: only for a page that was not logged in at injection.
    const wasAuth = a.isLoggedIn();
    a.Cmd.on('main_loaded', () => { if (!wasAuth) ev.emit('conn.authenticated'); });
    a.Cmd.on('logout', () => ev.emit('conn.logout'));
    // registerOnlineEvent.ts: NetworkStatus only, no initial emission.
    a.NetworkStatus.on('change:online', (_m, online) => ev.emit('conn.online', online));
    // registerRequireAuthEvent.ts
    a.Socket.on('change:state', (_m, s) => { if (!a.isLoggedIn() && (s === 'UNPAIRED' || s === 'UNPAIRED_IDLE')) ev.emit('conn.require_auth'); });
    // registerNewMessageEvent.ts: MsgStore 'add' with isNewMsg, deferred by a microtask.
    a.MsgStore.on('add', (msg) => {
      if (!msg.isNewMsg) return;
      queueMicrotask(() => ev.emit('chat.new_message', msg));
    });
    // registerAckMessageEvent.ts: on full ready; ack 1 from the store, >= 2 from receipts;
    // never a negative (failed) ack.
    loader.onFullReady(() => {
      a.MsgStore.on('change:ack', (msg, ack) => {
        if (ack === 1) ev.emit('chat.msg_ack_change', { ack: 1, chat: msg.to, ids: [msg.id] });
      });
      a.receiptHandlers.push((receipt) => {
        if (receipt.ack < 2) return;
        ev.emit('chat.msg_ack_change', {
          ack: receipt.ack, chat: receipt.from, ids: receipt.externalIds.map((id) => a.makeKey(true, receipt.from, id)),
        });
      });
    });
  }

  // --- loader (src/loader/index.ts) ------------------------------------------------------
  function waitForModules() {
    if (!window.__wasimApp) {
      setTimeout(waitForModules, POLL_MS);
      return;
    }
    setTimeout(() => {
      app = window.__wasimApp;
      loader.isInjected = true;
      ev.emit('loader.injected');
      if (!config.disableGoogleAnalytics) thirdParty('google_analytics', 'G-MTQ4KY110F');
      registerEvents();
      loader.isReady = true;
      ev.emit('loader.ready');
      const full = () => {
        loader.isFullReady = true;
        ev.emit('loader.full_ready');
      };
      if (mainReady) full();
      else ev.once('conn.main_ready', full);
    }, SETTLE_MS);
  }

  const WPP = {
    version: VERSION,
    supportedWhatsappWeb: '>=2.3000.1038792969-alpha',
    license: 'Apache-2.0',
    config,
    ev,
    on: ev.on, once: ev.once, off: ev.off, onAny: ev.onAny, emit: ev.emit,
    loader,
    conn,
    chat: {
      defaultSendMessageOptions, find, get, list, getMessages, getMessageById, generateMessageID,
      sendTextMessage, markIsRead, sendFileMessage, sendLocationMessage, sendVCardContactMessage,
      downloadMedia,
    },
    contact: { getPnLidEntry, queryWidExists: queryWidExistsCached, queryExists: queryWidExistsCached },
    whatsapp: {
      get functions() { return { queryWidExists: queryWidExistsRaw }; },
      get enums() { return { SYSTEM_MESSAGE_TYPES: app ? [...app.SYSTEM_TYPES] : undefined }; },
      get lidPnCache() { return app ? app.lidPnCache : undefined; },
      get Stream() { return app ? app.Stream : undefined; },
      get Socket() { return app ? app.Socket : undefined; },
    },
  };
  ['isInjected', 'isReady', 'isFullReady'].forEach((name) => {
    Object.defineProperty(WPP, name, { get: () => loader[name], enumerable: true });
  });
  window.WPP = WPP; // output.library {name: 'WPP', type: 'global'}: assigned at evaluation
  waitForModules();
})();
