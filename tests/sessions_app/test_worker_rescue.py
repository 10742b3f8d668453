"""A killed worker's reaper saves what its browsers held before the numbers move (F9).

The reaper marks the worker `rescuing` the moment it is gone. Reconciliation, which would
otherwise declare it dead by its heartbeat's age alone and restore the numbers elsewhere
from older snapshots (losing the messages the dead worker's pages had received), leaves
them where they are until the reaper marks the worker dead, or the rescue deadline passes.
(Caught in CI: under load a rescue outlasted the dead threshold and 25 of 30 inbound
messages received during the outage were lost.)"""

import socket
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from blazz.celery import session_queue_name
from sessions_app import services
from sessions_app.models import WhatsAppSession, WorkerInstance
from sessions_app.routing import route_invalidate
from sessions_app.services.reconcile import RECONCILE_LOCK_ID
from sessions_app.webjs.rescue import reconcile_after_rescue, worker_rescue, worker_rescue_begin
from tests.factories import WhatsAppSessionFactory, WorkerInstanceFactory

pytestmark = pytest.mark.django_db(transaction=True)
PID = 4242


def _worker(broker, *, pid=PID, heartbeat_age_s=0, status="alive"):
    worker = WorkerInstanceFactory(
        name=f"res-{uuid.uuid4().hex[:8]}",
        pid=pid,
        hostname=socket.gethostname(),
        status=status,
        last_heartbeat_at=timezone.now() - timedelta(seconds=heartbeat_age_s),
    )
    broker.queues.add(session_queue_name(worker.name))
    return worker


def _numbers_of(worker, count=3):
    sessions = [
        WhatsAppSessionFactory(
            status="connected",
            assigned_worker=worker,
            # Nobody renews the leases of a dead worker's numbers: long expired.
            lease_expires_at=timezone.now() - timedelta(seconds=300),
        )
        for _ in range(count)
    ]
    for session in sessions:
        route_invalidate(session.pk)
    return sessions


def _age_heartbeat(worker, seconds):
    WorkerInstance.objects.filter(pk=worker.pk).update(
        last_heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


def _holders(sessions):
    return {WhatsAppSession.objects.get(pk=s.pk).assigned_worker.name for s in sessions}


def test_a_worker_being_rescued_keeps_its_numbers_past_the_dead_threshold(broker, settings):
    dying, _live = _worker(broker), _worker(broker, pid=1)
    sessions = _numbers_of(dying)

    assert worker_rescue_begin(worker_name=dying.name, worker_pid=PID)
    _age_heartbeat(dying, settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS * 3)
    report = services.sessions_reconcile()

    assert report.workers_dead == [] and report.moved == []
    assert WorkerInstance.objects.get(pk=dying.pk).status == "rescuing"
    assert _holders(sessions) == {dying.name}


def test_the_numbers_move_once_the_rescue_ends(broker, tmp_path):
    dying, live = _worker(broker), _worker(broker, pid=1)
    sessions = _numbers_of(dying)
    worker_rescue_begin(worker_name=dying.name, worker_pid=PID)

    rescued = worker_rescue(worker_name=dying.name, worker_pid=PID, data_dir=tmp_path)
    report = services.sessions_reconcile()

    assert rescued["marked_dead"]
    assert sorted(report.moved) == sorted(s.pk for s in sessions)
    assert _holders(sessions) == {live.name}


def test_a_rescue_that_never_ends_gives_up_at_the_deadline(broker, settings):
    dying, live = _worker(broker), _worker(broker, pid=1)
    sessions = _numbers_of(dying)
    worker_rescue_begin(worker_name=dying.name, worker_pid=PID)

    _age_heartbeat(dying, settings.BLAZZ_WORKER_RESCUE_DEADLINE_SECONDS - 5)
    assert services.sessions_reconcile().moved == []
    _age_heartbeat(dying, settings.BLAZZ_WORKER_RESCUE_DEADLINE_SECONDS + 5)
    report = services.sessions_reconcile()

    assert report.workers_dead == [dying.name]
    assert sorted(report.moved) == sorted(s.pk for s in sessions)
    assert _holders(sessions) == {live.name}


@pytest.mark.parametrize(
    ("status", "pid"),
    [("dead", PID), ("alive", PID + 1)],
    ids=["already declared dead", "a successor under the same name"],
)
def test_a_rescue_begins_only_for_the_process_that_died(broker, status, pid):
    worker = _worker(broker, pid=pid, status=status)

    assert not worker_rescue_begin(worker_name=worker.name, worker_pid=PID)
    assert WorkerInstance.objects.get(pk=worker.pk).status == status


def test_a_successor_is_not_marked_dead_by_the_old_reaper(broker, tmp_path):
    successor = _worker(broker, pid=PID + 1)

    rescued = worker_rescue(worker_name=successor.name, worker_pid=PID, data_dir=tmp_path)

    assert not rescued["marked_dead"]
    assert WorkerInstance.objects.get(pk=successor.pk).status == "alive"


def test_the_reaper_reconciles_once_a_reconciliation_already_running_is_done(broker, tmp_path):
    # A run holding the lock may have looked before the worker was marked dead; the reaper's
    # own run must not be lost to it (it would leave the numbers down until Beat's next one).
    dying, live = _worker(broker), _worker(broker, pid=1)
    sessions = _numbers_of(dying)
    worker_rescue_begin(worker_name=dying.name, worker_pid=PID)
    worker_rescue(worker_name=dying.name, worker_pid=PID, data_dir=tmp_path)
    locked = threading.Event()

    def another_reconciliation() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [RECONCILE_LOCK_ID])
                locked.set()
                time.sleep(0.5)
                cursor.execute("SELECT pg_advisory_unlock(%s)", [RECONCILE_LOCK_ID])
        finally:
            locked.set()
            connection.close()

    running = threading.Thread(target=another_reconciliation)
    running.start()
    assert locked.wait(10)
    report = reconcile_after_rescue(pause_s=0.1)
    running.join()

    assert not report["skipped"]
    assert sorted(report["moved"]) == sorted(s.pk for s in sessions)
    assert _holders(sessions) == {live.name}
