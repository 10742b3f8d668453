/* Simulated WhatsApp Web, part 1: primitives the app (wa.js) and the wa-js stand-in
 * (wppconnect-wa.js) build on — the timer
 * gate that implements "freeze", the event emitter, Wid/MsgKey values, and the identity
 * kept in IndexedDB ("wawc") plus a localStorage marker ("last-wid-md"). Both must be
 * present and agree, so a copied profile logs in without a QR and a half-copied one gets a
 * QR. Exposed to wa.js as window.__wasim; not part of the wa-js surface.
 */
(function () {
  'use strict';

  // --- Timer gate --------------------------------------------------------------------
  // A frozen page (the silent hang) stops running timers: heartbeats stop advancing, yet
  // the page still answers scripts and claims to be connected and ready.
  const nativeSetTimeout = window.setTimeout.bind(window);
  const nativeClearTimeout = window.clearTimeout.bind(window);
  const nativeSetInterval = window.setInterval.bind(window);
  let frozen = false;
  const heldTimeouts = new Map();
  window.setTimeout = function (fn, ms, ...args) {
    if (typeof fn !== 'function') return nativeSetTimeout(fn, ms, ...args);
    const id = nativeSetTimeout(() => {
      if (frozen) heldTimeouts.set(id, () => fn(...args));
      else fn(...args);
    }, ms);
    return id;
  };
  window.clearTimeout = function (id) {
    heldTimeouts.delete(id);
    nativeClearTimeout(id);
  };
  window.setInterval = function (fn, ms, ...args) {
    if (typeof fn !== 'function') return nativeSetInterval(fn, ms, ...args);
    return nativeSetInterval(() => { if (!frozen) fn(...args); }, ms);
  };
  function thaw() {
    frozen = false;
    const held = [...heldTimeouts.values()];
    heldTimeouts.clear();
    held.forEach((fn) => { try { fn(); } catch (e) { console.error(e); } });
  }

  // --- Event emitter (the EventEmitter2 calls wa-js users make) ------------------------
  const listeners = new Map();
  const anyListeners = [];
  const ev = {
    on(event, fn) { (listeners.get(event) || listeners.set(event, []).get(event)).push(fn); return ev; },
    once(event, fn) {
      const wrapper = (...args) => { ev.off(event, wrapper); fn(...args); };
      return ev.on(event, wrapper);
    },
    off(event, fn) {
      const list = listeners.get(event) || [];
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
      return ev;
    },
    onAny(fn) { anyListeners.push(fn); return ev; },
    emit(event, ...args) {
      const list = [...(listeners.get(event) || [])];
      [...anyListeners].forEach((fn) => { try { fn(event, ...args); } catch (e) { console.error(e); } });
      list.forEach((fn) => { try { fn(...args); } catch (e) { console.error(e); } });
      return list.length > 0;
    },
  };
  ev.addListener = ev.on;
  ev.removeListener = ev.off;

  class WPPError extends Error {
    constructor(code, message) { super(message || code); this.code = code; this.name = 'WPPError'; }
  }

  // --- Wid and MsgKey (WhatsApp Web's value types; wa-js src/whatsapp/misc/Wid.ts, MsgKey.ts) ---
  function makeWid(jid) {
    const [user, server] = String(jid).split('@');
    return {
      user, server, _serialized: jid,
      toString() { return jid; },
      equals(other) { return !!other && (other._serialized || String(other)) === jid; },
      isUser() { return server === 'c.us' || server === 'lid'; },
      isLid() { return server === 'lid'; },
      isGroup() { return server === 'g.us'; },
    };
  }
  function jidOfPhone(phone) { return String(phone).replace(/^\+/, '') + '@c.us'; }
  // A chat id as wa-js accepts it: a Wid, a jid string, or bare digits (which mean @c.us;
  // wa-js src/util/createWid.ts).
  function toWid(chatId) {
    const raw = chatId && typeof chatId === 'object' ? chatId._serialized : chatId;
    if (typeof raw !== 'string') throw new WPPError('invalid_wid', 'Invalid WID value for ' + chatId);
    const text = raw.trim();
    const jid = text.includes('@') ? text : jidOfPhone(text);
    if (!/^[1-9][0-9]{6,14}@c\.us$/.test(jid) && !/^[0-9]{1,40}@lid$/.test(jid)) {
      throw new WPPError('invalid_wid', 'Invalid WID value for ' + raw);
    }
    return makeWid(jid);
  }
  function makeKey(fromMe, remote, id) {
    const serialized = `${fromMe}_${remote._serialized}_${id}`;
    return { fromMe, remote, id, _serialized: serialized, toString() { return serialized; } };
  }
  // MsgKey.fromString: "<fromMe>_<remote jid>_<ID>[_<participant>]" split on "_", as WhatsApp
  // does; a bare id has no "true_" in front, so it reads as a key that is not from me.
  function keyFromString(text) {
    const parts = String(text).split('_');
    const remote = parts.length > 2 ? makeWid(parts[1]) : makeWid('');
    return makeKey(parts[0] === 'true', remote, parts.length > 2 ? parts[2] : parts[0]);
  }
  function randomHex(bytes) {
    return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
  }

  // --- Identity storage -----------------------------------------------------------------
  const IDB_NAME = 'wawc';
  const IDB_STORE = 'user';
  const LS_MARKER = 'last-wid-md';
  function idb(mode, work) {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open(IDB_NAME, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(IDB_STORE);
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        const tx = db.transaction(IDB_STORE, mode);
        const request = work(tx.objectStore(IDB_STORE));
        tx.oncomplete = () => { db.close(); resolve(request.result); };
        tx.onerror = () => { db.close(); reject(tx.error); };
      };
    });
  }
  async function saveIdentity(identity) {
    await idb('readwrite', (store) => store.put(identity, 'identity'));
    localStorage.setItem(LS_MARKER, JSON.stringify({ device_id: identity.device_id, phone: identity.phone }));
  }
  async function wipeIdentity() {
    localStorage.removeItem(LS_MARKER);
    await idb('readwrite', (store) => store.delete('identity'));
  }
  async function loadIdentity() {
    const stored = await idb('readonly', (store) => store.get('identity'));
    let marker = null;
    try { marker = JSON.parse(localStorage.getItem(LS_MARKER) || 'null'); } catch (e) { marker = null; }
    if (stored && marker && marker.device_id === stored.device_id) return stored;
    // Missing or half-restored login state: start as a brand-new browser would.
    const fresh = { device_id: randomHex(10), secret: randomHex(32), phone: null, created_at: Date.now() };
    await saveIdentity(fresh);
    return fresh;
  }

  window.__wasim = {
    freeze: () => { frozen = true; },
    thaw,
    ev,
    WPPError,
    makeWid,
    jidOfPhone,
    toWid,
    makeKey,
    keyFromString,
    randomHex,
    identity: { load: loadIdentity, save: saveIdentity, wipe: wipeIdentity },
  };
})();
