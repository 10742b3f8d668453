"""What the reaper does for a session worker that died without shutting down (kill -9, OOM).

Its browsers are closed by then; their profiles hold the freshest login state and the page
journal: messages and acks the pages received and nobody committed, including those that
arrived in the moment between the worker's death and its pages' (WhatsApp's servers will
not send them again). Each profile is snapshotted into the database, then the worker is
marked dead, in that order: reconciliation moves the sessions only after their snapshots
carry the journal, and the new pages replay it (ingestion is idempotent). The reaper
marks the worker `rescuing` the moment it sees it gone, before closing anything, so that
reconciliation (which would declare it dead by its heartbeat's age alone) leaves its
numbers where they are until the rescue ends, or BLAZZ_WORKER_RESCUE_DEADLINE_SECONDS pass.

A host that dies whole takes its reaper along; then only the batch its pages held at that
moment (at most one harvest tick) is lost, and the previous snapshot is used."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from sessions_app import services
from sessions_app.models import SessionSnapshot, WhatsAppSession, WorkerInstance
from sessions_app.webjs.driver.snapshot import snapshot_take

logger = logging.getLogger(__name__)


def _this_process(*, worker_name: str, worker_pid: int):
    # The name alone is not enough: a successor started under the same name owns the row now.
    return WorkerInstance.objects.filter(name=worker_name, pid=worker_pid, hostname=socket.gethostname())


def worker_rescue_begin(*, worker_name: str, worker_pid: int) -> bool:
    """Marks the worker `rescuing` (its numbers stay assigned to it meanwhile). False if it
    was already dead (reconciliation got there first) or stopped warmly, or is a successor."""
    return bool(
        _this_process(worker_name=worker_name, worker_pid=worker_pid)
        .filter(status__in=(WorkerInstance.Status.ALIVE, WorkerInstance.Status.DRAINING))
        .update(status=WorkerInstance.Status.RESCUING, last_heartbeat_at=timezone.now())
    )


def worker_rescue(*, worker_name: str, worker_pid: int, data_dir: Path) -> dict:
    """Snapshots the profiles of the dead worker's connected numbers, then marks it dead."""
    worker = _this_process(worker_name=worker_name, worker_pid=worker_pid).first()
    if worker is None or worker.status == WorkerInstance.Status.DEAD:
        # A warm shutdown, or a successor took the name.
        return {"snapshotted": [], "skipped": [], "marked_dead": False}
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(settings.BLAZZ_WA_URL))
    snapshotted, skipped = [], []
    sessions = WhatsAppSession.objects.filter(
        assigned_worker=worker, deleted_at__isnull=True, status=WhatsAppSession.Status.CONNECTED
    )
    for session in sessions:
        profile = data_dir / "profiles" / session.session_id
        if not (profile / "Default").is_dir():
            skipped.append(session.session_id)
            continue
        previous = (
            SessionSnapshot.objects.filter(session=session).values_list("browser_version", flat=True).first()
        )
        try:
            taken = snapshot_take(
                user_data_dir=profile,
                origin=origin,
                browser_version=previous or "",
                keys=settings.BLAZZ_SNAPSHOT_KEYS,
                max_bytes=settings.BLAZZ_SNAPSHOT_MAX_BYTES,
            )
        except Exception:
            logger.exception("could not snapshot %s after its worker died", session.session_id)
            skipped.append(session.session_id)
            continue
        services.snapshot_store(
            session_pk=session.pk, data=taken.data, sha256=taken.sha256, browser_version=taken.browser_version
        )
        snapshotted.append(session.session_id)
    # Only now: reconciliation must not move a session before its snapshot holds the journal.
    marked = (
        _this_process(worker_name=worker_name, worker_pid=worker_pid)
        .exclude(status=WorkerInstance.Status.DEAD)
        .update(status=WorkerInstance.Status.DEAD)
    )
    return {"snapshotted": snapshotted, "skipped": skipped, "marked_dead": bool(marked)}


def reconcile_after_rescue(*, attempts: int = 50, pause_s: float = 0.2) -> dict:
    """Moves the rescued numbers to live workers now, in the reaper's own process: Beat's next
    reconciliation could be 30 s away, and handing the job to the general worker over Celery
    added 0.3 s to every failover (bench/failover.py, issue 18). A reconciliation already
    running (its advisory lock) may have looked before this worker was marked dead, so a
    skipped run is tried again once that one is done."""
    for _ in range(attempts):
        report = services.sessions_reconcile()
        if not report.skipped:
            break
        time.sleep(pause_s)
    return report.as_dict()
