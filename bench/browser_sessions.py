"""bench/browser_sessions.py N [--flags "…"]: start N browser sessions against the
simulator, scan each QR, wait until all are ready; print one JSON object with PSS (sum of
smaps_rollup over each session's process tree), marginal PSS per added session, start-to-
ready times and the snapshot size."""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import tempfile
import time
from pathlib import Path

import django
from _common import Simulator, machine

django.setup()

from django.conf import settings  # noqa: E402

from sessions_app.webjs.driver.browser import Browser  # noqa: E402
from sessions_app.webjs.driver.page import open_whatsapp  # noqa: E402
from sessions_app.webjs.driver.snapshot import snapshot_take  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("--flags", default="", help="extra Chromium flags to compare")
    parser.add_argument("--settle", type=float, default=8.0, help="seconds to wait before measuring PSS")
    args = parser.parse_args()
    sim = Simulator("--qr-period", "20")
    data_dir = Path(tempfile.mkdtemp(prefix="blazz-bench-"))
    browsers: list[Browser] = []
    start_to_ready: list[float] = []
    pss_after_each: list[int] = []
    try:
        for index in range(args.n):
            began = time.monotonic()
            browser = Browser.start(
                session_id=f"bench{index}",
                user_data_dir=data_dir / "profiles" / f"bench{index}",
                data_dir=data_dir,
                extra_arguments=shlex.split(args.flags),
            )
            browsers.append(browser)
            bridge = open_whatsapp(browser.driver, url=sim.url, wajs_bundle=sim.url + "wppconnect-wa.js")
            code = _wait(lambda b=bridge: b.state().get("auth_code"), 30)
            sim.api("POST", "/scan", {"phone": f"+5511900{index:06d}", "code": code})
            _wait(lambda b=bridge: b.state().get("ready"), 30)
            start_to_ready.append(time.monotonic() - began)
            time.sleep(1.0)
            pss_after_each.append(sum(b.pss_bytes() for b in browsers))
        time.sleep(args.settle)
        per_session = [b.pss_bytes() for b in browsers]
        total = sum(per_session)
        snapshot = snapshot_take(
            user_data_dir=browsers[0].user_data_dir,
            origin=sim.url.rstrip("/"),
            keys=settings.BLAZZ_SNAPSHOT_KEYS,
            browser_version=browsers[0].browser_version,
        )
        marginal = [(pss_after_each[i] - pss_after_each[i - 1]) for i in range(1, len(pss_after_each))]
        mb = 2**20
        print(
            json.dumps(
                {
                    "benchmark": "browser_sessions",
                    "n": args.n,
                    "flags": args.flags,
                    "lean_flags": settings.BLAZZ_BROWSER_LEAN,
                    "total_pss_mb": round(total / mb, 1),
                    "per_session_pss_mb": [round(p / mb, 1) for p in per_session],
                    "mean_session_pss_mb": round(total / mb / args.n, 1),
                    "marginal_pss_mb": round(statistics.median(marginal) / mb, 1)
                    if marginal
                    else round(total / mb, 1),
                    "processes_per_session": round(sum(len(b.pids()) for b in browsers) / args.n, 1),
                    "start_to_ready_s": {
                        "median": round(statistics.median(start_to_ready), 2),
                        "max": round(max(start_to_ready), 2),
                    },
                    "snapshot_bytes": snapshot.size_bytes,
                    "snapshot_take_s": round(snapshot.took_s, 3),
                    "browser_version": browsers[0].browser_version,
                    "machine": machine(),
                }
            )
        )
    finally:
        for browser in browsers:
            browser.stop(10)
        sim.stop()


def _wait(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError("timed out")


if __name__ == "__main__":
    main()
