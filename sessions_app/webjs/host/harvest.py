"""Which pages a session worker drains, and when (issue 18).

A page asks to be drained the moment it has journaled events (pushed over DevTools,
sessions_app/webjs/driver/push.py); the scheduler collects those wake-ups for a few
milliseconds so a burst becomes one transaction per page, and hands each page to a bounded
pool, so one slow page never holds up the others. Every page is still drained by a slow
sweep (a lost wake-up, a lost DevTools connection), and a page without a push connection
at the old polling tick."""

from __future__ import annotations

import heapq
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from django.conf import settings
from django.db import close_old_connections

from sessions_app import services
from sessions_app.models import WhatsAppSession
from sessions_app.webjs.driver.errors import BridgeError
from sessions_app.webjs.driver.push import open_wake_channel
from sessions_app.webjs.host.live import LiveSession, PageOutcome
from sessions_app.webjs.page_events import apply_page_events

logger = logging.getLogger(__name__)
# One JSON line per drained batch with the time of each hop, at DEBUG; off unless
# BLAZZ_INBOUND_TRACE_LEVEL=DEBUG (bench/density.py reads it to split inbound latency by hop).
trace_logger = logging.getLogger("blazz.inbound_trace")
Status = WhatsAppSession.Status


class HarvestScheduler:
    """Thread-safe. `wake` may be called from any thread (DevTools readers, the pool)."""

    def __init__(self, *, pool_size: int, batch_window_s: float, harvest: Callable[[int], None]) -> None:
        self._harvest = harvest
        self._batch_window_s = batch_window_s
        self._cond = threading.Condition()
        self._due: set[int] = set()
        self._later: list[tuple[float, int]] = []  # (when, session_pk): a page busy right now
        self._running: set[int] = set()
        self._again: set[int] = set()  # woken while being drained: drain once more after
        self._woken_at: dict[int, float] = {}  # first wake-up since the page's last drain began
        self._pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="blazz-harvest")
        self.wakes = 0
        self.rounds = 0

    def wake(self, session_pk: int) -> None:
        with self._cond:
            self.wakes += 1
            self._due.add(session_pk)
            self._woken_at.setdefault(session_pk, time.time())
            self._cond.notify()

    def take_woken_at(self, session_pk: int) -> float | None:
        """When the page first asked to be drained since its last drain began (wall clock),
        and forgets it: a wake-up after this moment belongs to the next drain."""
        with self._cond:
            return self._woken_at.pop(session_pk, None)

    def wake_later(self, session_pk: int, delay_s: float) -> None:
        """A page that could not be drained now (its lock is held by a send or a probe)."""
        with self._cond:
            heapq.heappush(self._later, (time.monotonic() + delay_s, session_pk))
            self._cond.notify()

    def wait(self, timeout_s: float) -> set[int]:
        """Blocks until some page asked to be drained (then waits the batch window for more)
        or the timeout passes; returns the pages to drain now and forgets them."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            while True:
                self._move_due_later()
                if self._due:
                    break
                remaining = deadline - time.monotonic()
                if self._later:
                    remaining = min(remaining, self._later[0][0] - time.monotonic())
                if remaining <= 0:
                    self._move_due_later()
                    break
                self._cond.wait(remaining)
        if self._due and self._batch_window_s > 0:
            time.sleep(self._batch_window_s)  # a burst of events becomes one batch per page
        with self._cond:
            self._move_due_later()
            due, self._due = self._due, set()
            return due

    def _move_due_later(self) -> None:
        now = time.monotonic()
        while self._later and self._later[0][0] <= now:
            self._due.add(heapq.heappop(self._later)[1])

    def submit(self, session_pks: Iterable[int]) -> None:
        """Drains each page in the pool; a page already being drained is drained once more
        when that run ends (never twice at once)."""
        with self._cond:
            self.rounds += 1
            fresh = []
            for pk in session_pks:
                if pk in self._running:
                    self._again.add(pk)
                else:
                    self._running.add(pk)
                    fresh.append(pk)
        for pk in fresh:
            self._pool.submit(self._run, pk)

    def _run(self, session_pk: int) -> None:
        try:
            self._harvest(session_pk)
        finally:
            with self._cond:
                self._running.discard(session_pk)
                again = session_pk in self._again
                self._again.discard(session_pk)
            if again:
                self.wake(session_pk)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class HarvestMixin:
    """SessionHost's side of draining pages: the harvest thread, the push connections, and
    acting on what a page reports (a logout, a lost browser)."""

    def _harvest_loop(self) -> None:
        """Drains a page when it pushes a wake-up (issue 18); every page at the slow sweep; a
        page without a push connection at the old polling tick."""
        tick = settings.BLAZZ_HARVEST_TICK_MS / 1000
        sweep = settings.BLAZZ_HARVEST_SWEEP_MS / 1000
        next_tick = next_sweep = time.monotonic()
        while not self._stopping.is_set():
            try:
                due = self._harvests.wait(min(next_tick, next_sweep) - time.monotonic())
                now = time.monotonic()
                with self._registry_lock:
                    sessions = list(self._live.values())
                if now >= next_sweep:
                    next_sweep = now + sweep
                    due |= {live.session_pk for live in sessions}
                    for live in sessions:
                        if live.push is None or not live.push.is_open:
                            self._push_open(live)
                if now >= next_tick:
                    next_tick = now + tick
                    due |= {
                        live.session_pk for live in sessions if live.push is None or not live.push.is_open
                    }
                if due and not self._stopping.is_set():
                    self._harvests.submit(due)
            except Exception:
                logger.exception("harvest round failed")
                self._stopping.wait(tick)
        self._harvests.shutdown()

    def _push_open(self, live: LiveSession) -> None:
        """Opens (or reopens) the page's push connection; until it is open the page is polled.
        A page whose connection cannot be opened is tried again after a while, not every sweep."""
        now = time.monotonic()
        if not settings.BLAZZ_HARVEST_PUSH or now < live.push_retry_at:
            return
        if live.push is not None:
            live.push.close()
        live.push = open_wake_channel(
            live.browser.driver,
            target_id=live.page_target_id,
            on_wake=partial(self._harvests.wake, live.session_pk),
            name=live.session_id,
        )
        if live.push is None:
            live.push_retry_at = now + settings.BLAZZ_PUSH_RETRY_SECONDS
        self._harvests.wake(live.session_pk)  # what the page queued before the connection

    def _harvest_pooled(self, session_pk: int) -> None:
        """One page, on a pool thread. A page busy with a send or a stop is drained a moment
        later, never waited for: the pool stays free for the other pages."""
        with self._registry_lock:
            live = self._live.get(session_pk)
        if live is None:
            self._harvests.take_woken_at(session_pk)  # a page closed meanwhile: nothing to time
            return
        if not live.lock.acquire(blocking=False):
            self._harvests.wake_later(session_pk, settings.BLAZZ_HARVEST_BUSY_RETRY_MS / 1000)
            return
        outcome = None
        woken_at = self._harvests.take_woken_at(session_pk)
        try:
            close_old_connections()
            outcome = self._harvest_session(live, woken_at=woken_at)
        except Exception:
            logger.exception("harvest of %s failed", live.session_id)
        finally:
            live.lock.release()
        if outcome is not None:
            self._act_on_page_outcome(live, outcome)

    def _act_on_page_outcome(self, live: LiveSession, outcome: str) -> None:
        """Only while no verb runs on the session, and only if `live` is still its page: a
        page a restart just closed reads as a lost browser, and acting on it would stop the
        page that replaced it."""
        verb_lock = self._verb_lock(live.session_pk)
        if not verb_lock.acquire(blocking=False):
            return
        try:
            with self._registry_lock:
                if self._live.get(live.session_pk) is not live:
                    return
            if outcome == PageOutcome.LOGGED_OUT:
                services.snapshot_drop(session_pk=live.session_pk)
                self.stop(
                    live.session_pk, reason="phone logged out", snapshot=False, to_status=Status.DISCONNECTED
                )
            elif outcome == PageOutcome.BROWSER_LOST:
                self._on_browser_lost(live)
        finally:
            verb_lock.release()

    def _harvest_session(self, live: LiveSession, *, woken_at: float | None = None) -> str | None:
        channel = live.push if settings.BLAZZ_HARVEST_OVER_DEVTOOLS else None
        began_at = time.time()
        try:
            harvest = live.bridge.harvest(channel=channel)
        except BridgeError as exc:
            live.last_error = str(exc)
            return PageOutcome.BROWSER_LOST if not live.browser.is_alive() else None
        events = harvest.get("events") or []
        if live.push is not None and (harvest.get("state") or {}).get("wake_binding") is False:
            live.push.rearm()  # the page lost its binding (a reload Runtime.enable missed)
        outcome = None
        if events:
            drained_at = time.time()
            page_me = (harvest.get("state") or {}).get("me")
            result = apply_page_events(session_pk=live.session_pk, events=events, page_me=page_me)
            committed_at = time.time()
            # Only now, after commit, may the page forget them.
            live.bridge.confirm(max(event["seq"] for event in events), channel=channel)
            if trace_logger.isEnabledFor(logging.DEBUG):
                _trace_batch(
                    live.session_pk,
                    events,
                    woken_at=woken_at,
                    began_at=began_at,
                    drained_at=drained_at,
                    committed_at=committed_at,
                    confirmed_at=time.time(),
                )
            if result.became_ready:
                live.snapshot_due_at = time.monotonic() + settings.BLAZZ_SNAPSHOT_AFTER_LOGIN_SECONDS
            if result.logged_out:
                outcome = PageOutcome.LOGGED_OUT
        if outcome is None and live.snapshot_due_at is not None and time.monotonic() >= live.snapshot_due_at:
            self._snapshot(live)
        return outcome

    def _on_browser_lost(self, live: LiveSession) -> None:
        """The browser died under a live session: restart it once from its snapshot."""
        self.stop(live.session_pk, reason="browser lost", snapshot=False, to_status=None)
        if services.session_note_auto_restart(session_pk=live.session_pk, error=live.last_error):
            self.start(live.session_pk, reason="browser lost")


def _trace_batch(session_pk: int, events: list[dict], **hops: float | None) -> None:
    """The hops of one drained batch (wall-clock seconds) and, per message, its id and the
    moment the page queued it (the event's ``at``, page milliseconds on the same clock)."""
    messages = [
        [(event.get("payload") or {}).get("id"), event.get("at")]
        for event in events
        if event.get("type") == "message"
    ]
    trace_logger.debug(
        "inbound-trace %s",
        json.dumps({"session": session_pk, "events": len(events), "messages": messages, **hops}),
    )
