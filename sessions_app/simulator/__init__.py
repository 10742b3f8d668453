"""WhatsApp Web simulator: a local server that plays WhatsApp's servers and the phones, so
Blazz's browsers, bridge and workers run end to end without the real service (DESIGN §6).

- ``server``: the aiohttp app (``build_app``) and runner (``serve``); no Django needed.
- ``hub``: the live pages' websockets (QR rotation, pairing, event delivery, freeze, drop).
- ``state``: devices, phones, pending deliveries, outbox; the rules, without I/O.
- ``control_api``: the JSON API tests and the demo use to act as phones and contacts.
- ``assets/``: the simulated WhatsApp Web page (``window.WPP``) and the control page.

Run it with ``manage.py wasim`` or ``python -m sessions_app.simulator --port 0``.
"""
