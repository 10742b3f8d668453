"""The simulator's aiohttp application and its runner. Needs no Django: ``manage.py wasim``
and ``python -m wasim`` both end up in :func:`serve`.

Routes:
  GET /              the simulated "WhatsApp Web" page (what Chromium opens; BLAZZ_WA_URL)
  GET /wa-base.js    its primitives: timer gate (freeze), emitter, Wid, identity storage
  GET /wa.js         the app: connection, stream, chats, messages, screens (no ``WPP``)
  GET /wppconnect-wa.js  the wa-js 4.6.0 stand-in the driver injects (``window.WPP``)
  GET /ws            the page's websocket (see ``hub``)
  GET /mms/{sha256}  WhatsApp's media servers: a file's bytes (what downloadMedia fetches)
  POST /mms/upload   ... and where a page uploads a file before sending it
  GET /control/      the human control page
  /control/api/...   the control API (see ``control_api``)
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from . import control_api
from .hub import Hub
from .model import MAX_REQUEST_BYTES
from .state import SimState

ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_QR_PERIOD_S = 20.0


def _asset(name: str, content_type: str) -> Callable[[web.Request], object]:
    async def handler(request: web.Request) -> web.Response:
        # Read on each request so edits show up without a restart; no-store keeps the
        # browser's disk cache out of profile snapshots.
        body = (ASSETS / name).read_text(encoding="utf-8")
        return web.Response(
            text=body, content_type=content_type, charset="utf-8", headers={"Cache-Control": "no-store"}
        )

    return handler


def build_app(state: SimState | None = None, *, qr_period: float = DEFAULT_QR_PERIOD_S) -> web.Application:
    """The whole simulator as an aiohttp application (web page, websocket, control API)."""
    if qr_period <= 0:
        raise ValueError("qr_period must be positive")
    hub = Hub(state if state is not None else SimState(), qr_period=qr_period)
    app = web.Application(middlewares=[control_api.control_errors], client_max_size=MAX_REQUEST_BYTES)
    app[control_api.HUB_KEY] = hub
    app.router.add_get("/", _asset("wa.html", "text/html"))
    app.router.add_get("/wa-base.js", _asset("wa-base.js", "application/javascript"))
    app.router.add_get("/wa.js", _asset("wa.js", "application/javascript"))
    # The wa-js 4.6.0 stand-in: not loaded by the page; Blazz's driver injects it at document
    # start, as it injects the real bundle into WhatsApp Web (BLAZZ_WAJS_BUNDLE).
    app.router.add_get("/wppconnect-wa.js", _asset("wppconnect-wa.js", "application/javascript"))
    app.router.add_get("/ws", hub.handle_ws)
    app.router.add_get("/mms/{sha256}", hub.handle_media_download)
    app.router.add_post("/mms/upload", hub.handle_media_upload)
    app.router.add_get("/control/", _asset("control.html", "text/html"))
    app.router.add_get("/control/control.js", _asset("control.js", "application/javascript"))
    control_api.add_routes(app)

    async def close_pages(_app: web.Application) -> None:
        await hub.shutdown()

    app.on_shutdown.append(close_pages)
    return app


async def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    state_file: str | None = None,
    qr_period: float = DEFAULT_QR_PERIOD_S,
    announce: Callable[[str], None] = print,
) -> None:
    """Run until SIGTERM or SIGINT. ``port=0`` picks a free port; the announced line has the
    real one, so callers (tests) can parse it."""
    app = build_app(SimState(state_file), qr_period=qr_period)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=2.0, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        announce(f"wasim listening on http://{host}:{bound_port}/")
        await stop.wait()
    finally:
        await runner.cleanup()


def parser(*, default_host: str = "127.0.0.1", default_port: int = 8765) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wasim", description="WhatsApp Web simulator (test double)")
    add_arguments(p, default_host=default_host, default_port=default_port)
    return p


def add_arguments(p: argparse.ArgumentParser, *, default_host: str, default_port: int) -> None:
    p.add_argument("--host", default=default_host)
    p.add_argument("--port", type=int, default=default_port, help="0 picks a free port")
    p.add_argument("--state-file", default=None, help="JSON file that keeps linked devices across restarts")
    p.add_argument(
        "--qr-period", type=float, default=DEFAULT_QR_PERIOD_S, help="seconds between QR rotations"
    )


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    asyncio.run(
        serve(
            host=args.host,
            port=args.port,
            state_file=args.state_file,
            qr_period=args.qr_period,
            announce=lambda line: print(line, flush=True),
        )
    )
