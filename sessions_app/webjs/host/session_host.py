"""SessionHost: the live browsers of one session worker (DESIGN section 2).

One instance per session-worker process. It owns a Browser + PageBridge per session it
holds the lease for, one lock per session (a WebDriver is not thread safe), a harvest
thread that drains every page each tick and writes the events to PostgreSQL itself (F4: no
HTTP hop), and a heartbeat thread that reports the worker's real session list (F2) and
renews its leases.

Guarantees:
- A session is started only by the worker it is assigned to, under a fresh lease; a
  session whose assignment moved away is closed here at the next heartbeat (two browsers
  never drive one number, F1/F10).
- Page events are removed from the page only after the transaction that stored them has
  committed; a crash in between re-reads them (F5).
- Stopping a browser always finishes (Browser.stop has a deadline, then kills the tree).
- Verbs on one session (start, stop, restart, logout) run one at a time, under that
  session's verb lock: a stop never snapshots a profile a concurrent start is restoring
  into, nor removes it under the new browser. A restart asked while one is running or
  waiting for the lock is that same restart.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess  # nosec B404 # type of the reaper's Popen only
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from blazz.celery import session_queue_name
from sessions_app import services
from sessions_app.models import WhatsAppSession, WorkerInstance
from sessions_app.webjs.driver import reaper
from sessions_app.webjs.driver.browser import Browser, kill_orphan_browsers
from sessions_app.webjs.driver.errors import BridgeError, SendFailed, SendNotConfirmed, SendNotStarted
from sessions_app.webjs.driver.page import open_whatsapp
from sessions_app.webjs.driver.processes import ProcessTable
from sessions_app.webjs.driver.push import page_target_id
from sessions_app.webjs.host.capacity import start_concurrency
from sessions_app.webjs.host.harvest import HarvestMixin, HarvestScheduler
from sessions_app.webjs.host.live import LiveSession, SendOutcome, StartResult
from sessions_app.webjs.host.media import (
    MediaMixin,
    outbound_media_spec,
    push_outbound_file,
    send_timeout_for,
)
from sessions_app.webjs.host.memory import MemoryTrimMixin, first_memory_trim_due
from sessions_app.webjs.host.probing import ProbeMixin
from sessions_app.webjs.host.profiles import ProfilesMixin

logger = logging.getLogger(__name__)
Status = WhatsAppSession.Status


class SessionHost(ProfilesMixin, HarvestMixin, MediaMixin, ProbeMixin, MemoryTrimMixin):
    def __init__(self, *, worker_name: str, capacity: int, data_dir: Path) -> None:
        self.worker_name = worker_name
        self.queue = session_queue_name(worker_name)
        self.capacity = capacity
        self.data_dir = Path(data_dir)
        self.worker: WorkerInstance | None = None
        self._live: dict[int, LiveSession] = {}
        self._starting: set[int] = set()
        self._restarting: set[int] = set()
        self._verb_locks: dict[int, threading.RLock] = {}
        self._registry_lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reaper: subprocess.Popen | None = None
        self._chrome_metrics: dict | None = None
        self._chrome_metrics_due = 0.0
        # Browsers starting at once on this host, whoever asked (the restore after a worker
        # start, failover starts arriving as tasks): each start is CPU-heavy for seconds.
        self._start_slots_count = start_concurrency()
        self._start_slots = threading.BoundedSemaphore(self._start_slots_count)
        self._harvests = HarvestScheduler(
            pool_size=settings.BLAZZ_HARVEST_POOL_SIZE,
            batch_window_s=settings.BLAZZ_HARVEST_BATCH_MS / 1000,
            harvest=self._harvest_pooled,
        )

    # --- process lifecycle ---------------------------------------------------------------

    def register(self) -> WorkerInstance:
        """Creates or revives this worker's row; removes browsers a previous process of this
        worker left behind (F8: zombie Chrome, stale profiles)."""
        kill_orphan_browsers(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # If this process dies without shutdown(), the reaper closes its browsers.
        self._reaper = reaper.spawn(
            worker_pid=os.getpid(),
            worker_name=self.worker_name,
            data_dir=self.data_dir,
            log_path=self.data_dir / "reaper.log",
        )
        self.worker = services.worker_register(
            name=self.worker_name,
            queue=self.queue,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            capacity=self.capacity,
        )
        self._prune_profiles()
        return self.worker

    def run_background_threads(self) -> None:
        for target, name in (
            (self._harvest_loop, "blazz-harvest"),
            (self._heartbeat_loop, "blazz-heartbeat"),
            # Media bytes on their own thread: a large file never holds up a harvest.
            (self._media_loop, "blazz-media"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def restore_assigned_sessions(self) -> list[int]:
        """Starts every session assigned here that should be live (after a restart or a
        failover), and live sessions no worker holds, from their snapshots: no QR scan."""
        services.sessions_adopt_unassigned(worker=self.worker)
        pks = services.sessions_to_restore(worker=self.worker)  # most recently active first

        def restore(pk: int) -> None:
            try:
                self.start(pk, reason="worker start")
            except Exception:
                logger.exception("could not restore session %s", pk)
            finally:
                close_old_connections()

        # Several at once (issue 18); how many browsers start together is bounded in start().
        with ThreadPoolExecutor(
            max_workers=self._start_slots_count, thread_name_prefix="blazz-restore"
        ) as pool:
            list(pool.map(restore, pks))
        return pks

    def shutdown(self, deadline_s: float | None = None) -> None:
        """Warm shutdown: snapshot, close every browser within the deadline and release the
        sessions (status kept) so reconciliation hands them to another worker at once."""
        self._stopping.set()
        # Starts already under way finish (and close their own browser) before we look.
        waited_until = time.monotonic() + (deadline_s or settings.BLAZZ_BROWSER_STOP_DEADLINE) * 3
        while self._starting and time.monotonic() < waited_until:
            time.sleep(0.05)
        for pk in list(self._live):
            try:
                self.stop(pk, reason="worker shutdown", snapshot=True, to_status=None, release=True)
            except Exception:
                logger.exception("could not stop session %s cleanly", pk)
        if self.worker is not None:
            try:
                services.worker_mark_stopped(worker=self.worker)
            except DatabaseError:
                # Reconciliation declares the worker dead by its stale heartbeat instead.
                logger.exception("could not mark worker %s stopped", self.worker_name)
        for thread in self._threads:
            thread.join(timeout=deadline_s or 5)
        if self._reaper is not None and self._reaper.poll() is None:
            # Nothing left to reap; a reaper outliving us could race our successor's browsers.
            self._reaper.terminate()
            self._reaper.wait(timeout=5)

    # --- verbs (called by tasks on this worker's queue) ----------------------------------------

    def _verb_lock(self, session_pk: int) -> threading.RLock:
        """The lock every verb on this session holds for its whole run. Reentrant: a restart
        holds it across its stop and its start. Background loops only try it (a heartbeat
        that waited for a browser start would let the worker look dead)."""
        with self._registry_lock:
            return self._verb_locks.setdefault(session_pk, threading.RLock())

    def live_session_pks(self) -> list[int]:
        with self._registry_lock:
            return sorted(self._live)

    def start(self, session_pk: int, *, reason: str) -> str:
        if self.worker is None:
            raise RuntimeError("SessionHost.start before register()")
        with self._verb_lock(session_pk):
            return self._start_serialised(session_pk, reason=reason)

    def _start_serialised(self, session_pk: int, *, reason: str) -> str:
        # The slot is reserved before the browser starts: a second start of the same session
        # (a task racing the restore thread) must not launch a second Chrome on its profile.
        with self._registry_lock:
            if self._stopping.is_set():
                return StartResult.SHUTTING_DOWN
            if session_pk in self._live or session_pk in self._starting:
                return StartResult.ALREADY_RUNNING
            # A union, not a sum: a session is in both from the moment its page is live until
            # its start returns (its push connection opens meanwhile), and counting it twice
            # refused the last failover start of a full worker as "no capacity".
            if len(self._live.keys() | self._starting) >= self.capacity:
                return StartResult.AT_CAPACITY
            self._starting.add(session_pk)
        try:
            return self._start_reserved(session_pk, reason=reason)
        finally:
            with self._registry_lock:
                self._starting.discard(session_pk)

    def _start_reserved(self, session_pk: int, *, reason: str) -> str:
        # The lease is claimed and the status moves to starting only once a start slot is
        # free: a number waiting its turn keeps its state, and the liveness start timeout
        # counts from when its browser really starts.
        asked = time.monotonic()
        with self._start_slots:
            timings = {"slot_wait": time.monotonic() - asked}
            session = services.session_claim_lease(session_pk=session_pk, worker=self.worker)
            if session is None:
                return StartResult.NOT_OWNER
            services.session_transition(
                session_pk=session_pk,
                to_status=Status.STARTING,
                detail={"reason": reason, "worker": self.worker_name},
            )
            return self._launch(session, reason=reason, timings=timings)

    def _launch(self, session: WhatsAppSession, *, reason: str, timings: dict[str, float]) -> str:
        """``timings``: seconds spent so far; each step adds its own, and the session's
        "restart" event keeps them (where a restore's time goes, issue 18)."""
        session_pk = session.pk
        profile = self.profiles_dir / session.session_id
        began = time.monotonic()
        restored = self._prepare_profile(session, profile)
        timings["profile"] = time.monotonic() - began
        began = time.monotonic()
        try:
            browser = Browser.start(
                session_id=session.session_id, user_data_dir=profile, data_dir=self.data_dir
            )
        except Exception as exc:
            services.session_fail(session_pk=session_pk, error=f"browser did not start: {exc}")
            return StartResult.GONE
        timings["browser"] = time.monotonic() - began
        began = time.monotonic()
        page_steps: dict[str, float] = {}
        try:
            bridge = open_whatsapp(
                browser.driver,
                url=settings.BLAZZ_WA_URL,
                wajs_bundle=settings.BLAZZ_WAJS_BUNDLE,
                timings=page_steps,
            )
        except Exception as exc:
            browser.stop(settings.BLAZZ_BROWSER_STOP_DEADLINE)
            shutil.rmtree(profile, ignore_errors=True)
            services.session_fail(session_pk=session_pk, error=str(exc))
            return StartResult.GONE
        with self._registry_lock:
            shutting_down = self._stopping.is_set()
            if not shutting_down:
                self._live[session_pk] = LiveSession(
                    session_pk,
                    session.session_id,
                    browser,
                    bridge,
                    page_target_id=page_target_id(browser.driver),
                    memory_trim_due_at=first_memory_trim_due(),
                )
        if shutting_down:
            # shutdown() began while this browser was starting: it would never see it.
            browser.stop(settings.BLAZZ_BROWSER_STOP_DEADLINE)
            shutil.rmtree(profile, ignore_errors=True)
            return StartResult.SHUTTING_DOWN
        timings["page"] = time.monotonic() - began
        self._push_open(self._live[session_pk])
        services.session_record(
            session_pk=session_pk,
            kind="restart",
            detail={
                "restored": restored,
                "reason": reason,
                "seconds": {step: round(spent, 3) for step, spent in timings.items()},
                "page_seconds": {step: round(spent, 3) for step, spent in page_steps.items()},
            },
        )
        return StartResult.STARTED

    def stop(
        self,
        session_pk: int,
        *,
        reason: str,
        snapshot: bool = True,
        to_status: str | None = Status.STOPPED,
        release: bool = False,
    ) -> bool:
        """Closes the session's browser (snapshot first when asked and logged in). Returns
        False when this worker did not host it."""
        with self._verb_lock(session_pk):
            return self._stop_serialised(
                session_pk, reason=reason, snapshot=snapshot, to_status=to_status, release=release
            )

    def _stop_serialised(
        self, session_pk: int, *, reason: str, snapshot: bool, to_status: str | None, release: bool
    ) -> bool:
        with self._registry_lock:
            live = self._live.get(session_pk)
        if live is not None:
            if live.push is not None:
                live.push.close()
            with live.lock:
                if snapshot:
                    try:
                        self._snapshot(live)
                    except DatabaseError:
                        # The database is down: the last stored snapshot stays, and the
                        # browser is closed all the same (left to the reaper, its driver leaks).
                        logger.exception("could not snapshot %s before closing it", live.session_id)
                report = live.browser.stop(settings.BLAZZ_BROWSER_STOP_DEADLINE)
                logger.info(
                    "closed browser of %s (%s) in %.2fs forced=%s killed=%s",
                    live.session_id,
                    reason,
                    report.duration_s,
                    report.forced,
                    report.killed_pids,
                )
                if report.leftover_pids:
                    logger.error("session %s left processes %s", live.session_id, report.leftover_pids)
                shutil.rmtree(live.browser.user_data_dir, ignore_errors=True)
            with self._registry_lock:
                self._live.pop(session_pk, None)
        if to_status is not None:
            services.session_transition_if_live(
                session_pk=session_pk, to_status=to_status, detail={"reason": reason}
            )
        if release and self.worker is not None:
            services.session_release(session_pk=session_pk, worker=self.worker)
        return live is not None

    def restart(self, session_pk: int, *, reason: str) -> str:
        """Stop (with a snapshot of a logged-in page) and start again from it. A restart of
        a session that is already restarting here returns ALREADY_RUNNING at once: the one
        under way reopens the page anyway."""
        with self._registry_lock:
            if session_pk in self._restarting:
                return StartResult.ALREADY_RUNNING
            self._restarting.add(session_pk)
        try:
            with self._verb_lock(session_pk):
                self.stop(session_pk, reason=reason, snapshot=True, to_status=None)
                return self.start(session_pk, reason=reason)
        finally:
            with self._registry_lock:
                self._restarting.discard(session_pk)

    def logout(self, session_pk: int) -> None:
        """Logs the device out on WhatsApp's side, then closes the browser; the snapshot is
        dropped so nothing can log back in without a new QR."""
        with self._verb_lock(session_pk):
            with self._registry_lock:
                live = self._live.get(session_pk)
            if live is not None:
                with live.lock:
                    outcome = live.bridge.logout()
                if not outcome.get("ok"):
                    logger.warning(
                        "logout failed for %s (%s); closing the browser anyway", live.session_id, outcome
                    )
            services.snapshot_drop(session_pk=session_pk)
            self.stop(session_pk, reason="logout", snapshot=False, to_status=Status.DISCONNECTED)

    def send_chat(self, session_pk: int, chat_pk: int) -> str:
        """Sends one pending outbound message from this session's page; see SendOutcome."""
        from messaging import services as messaging

        with self._registry_lock:
            live = self._live.get(session_pk)
        if live is None:
            return SendOutcome.NOT_HERE
        chat = messaging.chat_claim_for_send(chat_pk=chat_pk, session_pk=session_pk)
        if chat is None:
            return SendOutcome.SKIPPED
        key = str(chat.uuid)
        try:
            spec = outbound_media_spec(chat)
            if spec is not None and "size" in spec:
                # The file goes into the page first, chunk by chunk (the lock around each).
                push_outbound_file(live, chat, key)
        except ValueError as exc:
            messaging.chat_mark_failed(chat=chat, error=str(exc))
            return SendOutcome.FAILED
        except (BridgeError, OSError) as exc:
            messaging.chat_release_claim(chat_pk=chat.pk)
            live.last_error = str(exc)
            return SendOutcome.NOT_HERE if isinstance(exc, BridgeError) else SendOutcome.NOT_STARTED
        with live.lock:
            try:
                # The chat's uuid is the page-side idempotency key: a retried call on the
                # same page never sends a second message.
                if spec is None:
                    wam_id = live.bridge.send(chat.contact.address, chat.body, idempotency_key=key)
                else:
                    wam_id = live.bridge.send_media(
                        chat.contact.address, spec, timeout=send_timeout_for(spec), idempotency_key=key
                    )
            except SendNotConfirmed as exc:
                if exc.wam_id is None:
                    # The page made nothing (it hung finding the chat): a later send may go.
                    messaging.chat_release_claim(chat_pk=chat.pk)
                    return SendOutcome.NOT_STARTED
                # Sent counts only on a server ack; the page reports it (or a failure) later.
                messaging.chat_mark_awaiting_ack(chat=chat, wam_id=exc.wam_id)
                return SendOutcome.AWAITING_ACK
            except (SendFailed, ValueError) as exc:
                messaging.chat_mark_failed(chat=chat, error=str(exc))
                return SendOutcome.FAILED
            except SendNotStarted:
                # The page is here but offline or not logged in yet: the message waits for the
                # page's next "connected"/"ready" or for the send sweep, on this same worker.
                messaging.chat_release_claim(chat_pk=chat.pk)
                return SendOutcome.NOT_STARTED
            except BridgeError as exc:
                # The page is gone or hung before it took the message: it may be retried.
                messaging.chat_release_claim(chat_pk=chat.pk)
                live.last_error = str(exc)
                return SendOutcome.NOT_HERE
        messaging.chat_mark_sent(chat=chat, wam_id=wam_id)
        return SendOutcome.SENT

    def request_link_code(self, session_pk: int, phone_number: str) -> str | None:
        """Asks the page for a pairing code for `phone_number` (wa-js takes digits only)."""
        with self._registry_lock:
            live = self._live.get(session_pk)
        if live is None:
            return None
        with live.lock:
            answer = live.bridge.link_code(phone_number)
        if not isinstance(answer, dict) or not answer.get("code"):
            error = answer.get("error") if isinstance(answer, dict) else repr(answer)
            services.session_record(session_pk=session_pk, kind="error", detail={"link_code": error})
            return None
        services.session_link_code_ready(
            session_pk=session_pk, phone_number=phone_number, code=answer["code"]
        )
        return answer["code"]

    # --- snapshots -----------------------------------------------------------------------

    # --- background loops ----------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        next_sweep = time.monotonic() + settings.BLAZZ_ORPHAN_SWEEP_SECONDS
        while not self._stopping.is_set():
            try:
                close_old_connections()
                self.heartbeat_once()
                self.pages_memory_trim()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + settings.BLAZZ_ORPHAN_SWEEP_SECONDS
                    self.sweep_orphans()
            except Exception:
                logger.exception("heartbeat failed")
            self._stopping.wait(settings.BLAZZ_WORKER_HEARTBEAT_SECONDS)

    def heartbeat_once(self) -> None:
        live_pks = self.live_session_pks()
        lost = services.worker_heartbeat(
            worker=self.worker, live_session_pks=live_pks, metrics=self.metrics(live_pks)
        )
        for pk in lost:
            # Reassigned elsewhere (failover, admin action), deleted or stopped: this copy must
            # not keep driving it. A verb running on it now decides; the next beat looks again.
            verb_lock = self._verb_lock(pk)
            if not verb_lock.acquire(blocking=False):
                continue
            try:
                logger.warning("session %s is no longer held here; closing its browser", pk)
                self.stop(pk, reason="lease lost", snapshot=False, to_status=None)
            finally:
                verb_lock.release()

    def metrics(self, live_pks: list[int]) -> dict:
        now = time.monotonic()
        if self._chrome_metrics is None or now >= self._chrome_metrics_due:
            self._chrome_metrics = self._chrome_metrics_measure()
            self._chrome_metrics_due = now + settings.BLAZZ_CHROME_METRICS_SECONDS
        return {
            "sessions": live_pks,
            "session_count": len(live_pks),
            **self._chrome_metrics,
            "open_fds": psutil.Process().num_fds() + self._chrome_metrics["chrome_fds"],
            "load": os.getloadavg()[0],
            "at": timezone.now().isoformat(),
        }

    def _chrome_metrics_measure(self) -> dict:
        """Chrome's memory and descriptors. Finding a browser's processes walks /proc, so at
        fifty numbers this cost more CPU than the harvest (issue 18, a profile of
        bench/density.py): one walk for all browsers, and only every
        BLAZZ_CHROME_METRICS_SECONDS, not at every heartbeat."""
        with self._registry_lock:
            browsers = [live.browser for live in self._live.values()]
        chrome_pss = 0
        chrome_fds = 0
        table = ProcessTable()  # one walk of /proc for every browser
        for browser in browsers:
            pids = browser.pids(table)
            chrome_pss += browser.pss_bytes(pids=pids)
            for pid in pids:
                try:
                    chrome_fds += psutil.Process(pid).num_fds()
                except psutil.Error:
                    pass
        return {"chrome_pss_mb": round(chrome_pss / 2**20, 1), "chrome_fds": chrome_fds}
