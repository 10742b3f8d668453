"""The liveness probe of one page (F7), SessionHost's side: ask the page, judge it, act.

A page is asked over its own DevTools connection when it has one, without its page lock: a
probe then never waits behind a send, and fifty probes every 30 s no longer go through
chromedriver, each holding its page's lock (issue 18: the inbound trace showed drains
queueing in bursts every 30 s; with the probes moved, the wait for a drain fell from p99
0.52 s to 0.13 s at fifty numbers). Without that connection the page is asked through
WebDriver, under the lock."""

from __future__ import annotations

import logging

from django.conf import settings

from sessions_app import services
from sessions_app.webjs.driver.errors import BridgeError
from sessions_app.webjs.host.live import LiveSession, ProbeSkipped

logger = logging.getLogger(__name__)


class ProbeMixin:
    def probe(self, session_pk: int) -> str:
        """Checks one connected page (F7) and acts on the verdict: restart it from its
        snapshot, or close it when the session was given up. Returns a LivenessOutcome or a
        ProbeSkipped."""
        with self._registry_lock:
            live = self._live.get(session_pk)
        if live is None:
            return ProbeSkipped.NOT_HERE
        timeout_s = settings.BLAZZ_LIVENESS_PROBE_TIMEOUT_SECONDS
        checked = self._probe_over_channel(live, timeout_s)
        if checked is None:
            # Through WebDriver: a page busy with a long send still gets judged, just after it.
            if not live.lock.acquire(timeout=timeout_s + 30):
                return ProbeSkipped.BUSY
            try:
                try:
                    state = live.bridge.state()
                except BridgeError as exc:
                    live.last_error = str(exc)
                    state = None
                probe = live.bridge.probe(timeout_s=timeout_s) if state else None
            finally:
                live.lock.release()
        else:
            state, probe = checked
        verdict = services.liveness_verdict(state=state, probe=probe)
        outcome = services.session_liveness_record(session_pk=session_pk, verdict=verdict)
        if outcome == services.LivenessOutcome.RESTART:
            logger.warning(
                "session %s failed its liveness check (%s): restarting", live.session_id, verdict.reason
            )
            self.restart(session_pk, reason=f"liveness: {verdict.reason}")
        elif outcome == services.LivenessOutcome.FAILED:
            self.stop(session_pk, reason="liveness: given up", snapshot=False, to_status=None)
        return outcome

    def _probe_over_channel(
        self, live: LiveSession, timeout_s: float
    ) -> tuple[dict | None, dict | None] | None:
        """The page's state and probe over its DevTools connection, without its page lock;
        None when that connection is not usable (the caller probes through WebDriver)."""
        channel = live.push if settings.BLAZZ_HARVEST_OVER_DEVTOOLS else None
        if channel is None or not channel.is_open:
            return None
        try:
            return live.bridge.probe_over(channel, timeout_s=timeout_s)
        except BridgeError as exc:
            live.last_error = str(exc)
            return None, None
