"""WhatsApp Web simulator: a local server that plays WhatsApp's servers and the phones, so
Blazz's browsers, bridge and workers run end to end without the real service (DESIGN §6).

- ``server``: the aiohttp app (``build_app``) and runner (``serve``); no Django needed.
- ``hub``: the live pages' websockets (QR rotation, pairing, event delivery, freeze, drop).
- ``state``: devices, phones, pending deliveries, outbox; the rules, without I/O.
- ``control_api``: the JSON API tests and the demo use to act as phones and contacts.
- ``assets/``: the simulated WhatsApp Web page (no ``WPP``), the wa-js 4.6.0 stand-in the
  driver injects (``wppconnect-wa.js``) and the control page.
- ``CONTRACT.md``: each behaviour and the wa-js source (or WhatsApp behaviour) it follows.

A top-level package of its own: it imports no product code, and production settings
(``DEBUG=false``) do not install it. Run it with ``manage.py wasim`` (development) or
``python -m wasim --port 0``.
"""
