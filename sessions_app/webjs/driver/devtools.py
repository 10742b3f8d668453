"""Reaching the pages of orphaned browsers through Chrome's DevTools endpoint.

A worker killed with SIGKILL leaves its browsers running with nobody driving them, and their
chromedriver's WebDriver sessions died with the worker's HTTP clients. Each browser still
serves the DevTools protocol on the local port chromedriver asked for (``DevToolsActivePort``
in its profile), which is how the reaper quiesces their pages (``__blazz.quiesce`` in
``sessions_app/webjs/bridge.js``) before stopping them.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import websocket

logger = logging.getLogger(__name__)

QUIESCE_EXPRESSION = "window.__blazz && window.__blazz.quiesce ? window.__blazz.quiesce({timeout_ms}) : null"


def devtools_port(profile_dir: Path) -> int | None:
    """The port in the profile's ``DevToolsActivePort`` (Chrome writes it at start), or None."""
    try:
        first_line = (profile_dir / "DevToolsActivePort").read_text().splitlines()[0]
        return int(first_line)
    except (OSError, IndexError, ValueError):
        return None


def _page_socket_urls(port: int, timeout_s: float) -> list[str]:
    # Only localhost: chromedriver binds the DevTools endpoint to 127.0.0.1.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout_s) as reply:  # nosec B310 # a fixed http://127.0.0.1 URL
        targets = json.load(reply)
    pages = [target for target in targets if target.get("type") == "page"]
    return [page["webSocketDebuggerUrl"] for page in pages if page.get("webSocketDebuggerUrl")]


def _evaluate(socket_url: str, expression: str, timeout_s: float) -> Any:
    connection = websocket.create_connection(socket_url, timeout=timeout_s, suppress_origin=True)
    try:
        connection.send(
            json.dumps(
                {
                    "id": 1,
                    "method": "Runtime.evaluate",
                    "params": {"expression": expression, "awaitPromise": True, "returnByValue": True},
                }
            )
        )
        while True:
            reply = json.loads(connection.recv())
            if reply.get("id") == 1:
                return reply.get("result", {}).get("result", {}).get("value")
    finally:
        connection.close()


def _quiesce_profile(profile_dir: Path, settle_s: float) -> list[Any]:
    port = devtools_port(profile_dir)
    if port is None:
        return []
    expression = QUIESCE_EXPRESSION.format(timeout_ms=int(settle_s * 1000))
    results = []
    for url in _page_socket_urls(port, settle_s):
        results.append(_evaluate(url, expression, settle_s + 2))
    return results


def pages_quiesce(profile_dirs: list[Path], *, settle_s: float = 3.0) -> dict[str, Any]:
    """Quiesces every Blazz page of the given profiles at once: each sends nothing more and
    journals what it holds (waiting at most ``settle_s``). Returns what each profile's pages
    answered, or the error that kept them from answering (then the caller stops the page
    all the same: a best effort, never a reason to keep an orphan running)."""
    if not profile_dirs:
        return {}

    def quiesce(profile_dir: Path) -> tuple[str, Any]:
        try:
            return profile_dir.name, _quiesce_profile(profile_dir, settle_s)
        except (OSError, ValueError, KeyError, websocket.WebSocketException) as exc:
            return profile_dir.name, f"unreachable: {exc}"

    with ThreadPoolExecutor(max_workers=min(16, len(profile_dirs))) as pool:
        answers = dict(pool.map(quiesce, profile_dirs))
    logger.info("quiesced pages: %s", answers)
    return answers
