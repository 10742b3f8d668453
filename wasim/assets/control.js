/* The human control page of the simulator: a thin client of /control/api. */
(function () {
  'use strict';
  const api = (path, body) => fetch('/control/api' + path, body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  }).then(async (response) => {
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  });
  const flash = (text) => { document.getElementById('flash').textContent = text || ''; };
  const act = (path, body) => api(path, body).then(() => { flash(''); refresh(); }, (e) => flash(e.message));
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (k === 'onclick') node.onclick = v; else node.setAttribute(k, v); });
    children.forEach((c) => node.append(c instanceof Node ? c : document.createTextNode(String(c))));
    return node;
  };
  const button = (label, path, body) => el('button', { onclick: () => act(path, body || {}) }, label);
  const when = (ts) => (ts ? new Date(ts * 1000).toLocaleTimeString() : '—');

  function render(state) {
    // Do not wipe a phone number the user is typing.
    if (!document.getElementById('qr').contains(document.activeElement)) renderQr(state);
    renderRest(state);
  }
  function renderQr(state) {
    document.getElementById('qr').replaceChildren(...state.qr.map((q) => {
      const input = el('input', { type: 'text', placeholder: '+5511999999999' });
      const scan = el('button', { onclick: () => act('/scan', { phone: input.value, device_id: q.device_id }) }, 'Scan');
      return el('tr', {}, el('td', {}, q.device_id), el('td', {}, el('code', {}, q.code)), el('td', {}, input, scan));
    }));
  }
  function renderRest(state) {
    document.getElementById('devices').replaceChildren(...state.devices.map((d) => {
      const base = '/devices/' + d.device_id + '/';
      const actions = el('td', {});
      if (d.status === 'linked') actions.append(button('Log out', base + 'logout'));
      actions.append(d.frozen ? button('Unfreeze', base + 'unfreeze') : button('Freeze', base + 'freeze'));
      actions.append(d.dropped ? button('Allow reconnect', base + 'reconnect') : button('Drop', base + 'drop', { hold_s: null }));
      const status = d.status + (d.frozen ? ' (frozen)' : '') + (d.dropped ? ' (dropped)' : '');
      return el('tr', {}, el('td', {}, d.device_id), el('td', {}, d.phone || '—'), el('td', {}, status),
        el('td', {}, d.online ? 'yes' : 'no'), el('td', {}, when(d.last_seen_at)), el('td', {}, d.pending_events), actions);
    }));
    const rows = [];
    Object.entries(state.outbox).forEach(([phone, entries]) => entries.forEach((m) => {
      rows.push(el('tr', {}, el('td', {}, phone), el('td', {}, m.to), el('td', {}, m.body), el('td', {}, when(m.at)),
        el('td', {}, m.ack), el('td', {}, button('Delivered', '/acks', { id: m.id, ack: 2 }), button('Read', '/acks', { id: m.id, ack: 3 }))));
    }));
    document.getElementById('outbox').replaceChildren(...rows);
  }
  function refresh() {
    api('/state').then(render, (e) => flash('simulator unreachable: ' + e.message));
  }
  const formData = (form) => Object.fromEntries(new FormData(form).entries());
  document.getElementById('link-code-form').onsubmit = (e) => { e.preventDefault(); act('/link-code', formData(e.target)); };
  document.getElementById('message-form').onsubmit = (e) => { e.preventDefault(); act('/messages', formData(e.target)); };
  document.getElementById('reset').onclick = () => { if (confirm('Forget every device and message?')) act('/reset', {}); };
  refresh();
  setInterval(refresh, 1000);
})();
