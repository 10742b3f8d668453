"""Wires a SessionHost into a Celery worker process that consumes a `wa.<name>` queue.

`celery -A blazz worker -n <name>@%h -Q wa.<name> --pool threads`: on ready it registers
the worker, starts the harvest and heartbeat threads and restores its sessions; on warm
shutdown it snapshots and closes its browsers and releases them."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections

from sessions_app.webjs.host import SessionHost

logger = logging.getLogger(__name__)

_host: SessionHost | None = None
_host_lock = threading.Lock()


class NotASessionWorker(RuntimeError):
    pass


def current_host() -> SessionHost:
    if _host is None:
        raise NotASessionWorker("this process hosts no browsers (it does not consume a wa.<name> queue)")
    return _host


def session_worker_name(consumed_queues: list[str]) -> str | None:
    prefix = settings.BLAZZ_WORKER_QUEUE_PREFIX
    names = [q[len(prefix) :] for q in consumed_queues if q.startswith(prefix)]
    if len(names) > 1:
        raise NotASessionWorker(f"a session worker consumes exactly one {prefix}<name> queue, got {names}")
    return names[0] if names else None


@worker_ready.connect
def start_session_host(sender=None, **kwargs) -> None:
    global _host
    queues = list(sender.app.amqp.queues.consume_from.keys()) if sender is not None else []
    name = session_worker_name(queues)
    if name is None:
        return
    with _host_lock:
        _host = SessionHost(
            worker_name=name,
            capacity=settings.BLAZZ_WORKER_CAPACITY,
            data_dir=Path(settings.BLAZZ_DATA_DIR) / name,
        )
        _host.register()
        _host.run_background_threads()
    logger.info("session worker %s ready (capacity %s)", name, settings.BLAZZ_WORKER_CAPACITY)
    # Restoring opens browsers one by one; the worker consumes its queue meanwhile.
    threading.Thread(target=_host.restore_assigned_sessions, name="blazz-restore", daemon=True).start()


@worker_shutdown.connect
def stop_session_host(sender=None, **kwargs) -> None:
    if _host is not None:
        logger.info("session worker %s shutting down: snapshotting and closing browsers", _host.worker_name)
        # This thread's connection was opened at start; a database restart since then broke
        # it. Dropped here (health-checked, CONN_HEALTH_CHECKS) so the snapshots and releases
        # below run on a working one.
        close_old_connections()
        _host.shutdown(deadline_s=settings.BLAZZ_BROWSER_STOP_DEADLINE)
