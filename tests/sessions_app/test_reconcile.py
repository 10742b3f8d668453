"""Reconciliation (F9, F10): dead workers are declared dead, their live sessions move to a
live worker with room, sends a dead worker had claimed are released, and two runs at once
never move a session twice."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from blazz.celery import session_queue_name
from messaging.models import Chat
from sessions_app import services
from sessions_app.models import SessionEvent, WhatsAppSession, WorkerInstance
from sessions_app.routing import route_invalidate, session_queue
from tests.concurrency import run_at_once
from tests.factories import ChatFactory, ContactFactory, WhatsAppSessionFactory, WorkerInstanceFactory


def _worker(broker, *, alive=True, capacity=10):
    worker = WorkerInstanceFactory(
        name=f"rec-{uuid.uuid4().hex[:8]}",
        capacity=capacity,
        last_heartbeat_at=timezone.now() - timedelta(seconds=0 if alive else 120),
    )
    broker.queues.add(session_queue_name(worker.name))
    return worker


def _session(worker, status="connected", **kwargs):
    session = WhatsAppSessionFactory(
        status=status,
        assigned_worker=worker,
        lease_expires_at=timezone.now() + timedelta(seconds=60),
        **kwargs,
    )
    route_invalidate(session.pk)
    return session


@pytest.mark.django_db(transaction=True)
def test_it_moves_the_sessions_of_a_dead_worker_to_a_live_one(broker):
    dead, live = _worker(broker, alive=False), _worker(broker)
    sessions = [_session(dead) for _ in range(3)]
    stopped = _session(dead, status="stopped")

    report = services.sessions_reconcile()

    assert report.workers_dead == [dead.name]
    assert sorted(report.moved) == sorted(s.pk for s in sessions)
    assert WorkerInstance.objects.get(pk=dead.pk).status == "dead"
    for session in sessions:
        session.refresh_from_db()
        assert session.assigned_worker_id == live.pk
        assert session_queue(session.pk) == session_queue_name(live.name)  # routing re-read
        assert SessionEvent.objects.filter(session=session, kind="failover", detail__to=live.name).exists()
    stopped.refresh_from_db()
    assert stopped.assigned_worker_id == dead.pk  # not live: nothing to move
    starts = [t for t in broker.tasks(live) if t.name == "sessions_app.tasks.session_start"]
    assert sorted(t.kwargs["session_pk"] for t in starts) == sorted(s.pk for s in sessions)


def test_it_releases_sends_the_dead_worker_had_claimed(db, broker):
    dead, _live = _worker(broker, alive=False), _worker(broker)
    session = _session(dead)
    contact = ContactFactory(workspace=session.workspace)
    claimed = ChatFactory(
        workspace=session.workspace,
        whatsapp_session=session,
        contact=contact,
        direction="outbound",
        status="pending",
        send_claimed_at=timezone.now(),
    )
    sent = ChatFactory(
        workspace=session.workspace,
        whatsapp_session=session,
        contact=contact,
        direction="outbound",
        status="sent",
    )

    report = services.sessions_reconcile()

    assert report.sends_released == 1
    assert Chat.objects.get(pk=claimed.pk).send_claimed_at is None
    assert Chat.objects.get(pk=sent.pk).status == "sent"


def test_it_leaves_healthy_sessions_alone(db, broker):
    live = _worker(broker)
    session = _session(live)

    report = services.sessions_reconcile()

    assert report.moved == [] and report.workers_dead == []
    session.refresh_from_db()
    assert session.assigned_worker_id == live.pk
    assert not SessionEvent.objects.filter(session=session, kind="failover").exists()


def test_it_restarts_a_session_whose_live_worker_stopped_renewing_its_lease(db, broker, settings):
    live = _worker(broker)
    session = _session(live)
    WhatsAppSession.objects.filter(pk=session.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS + 5)
    )

    report = services.sessions_reconcile()

    assert report.moved == [session.pk]
    assert (
        SessionEvent.objects.get(session=session, kind="failover")
        .detail["reason"]
        .endswith("did not renew its lease")
    )


def test_it_reports_sessions_it_cannot_place(db, broker):
    dead = _worker(broker, alive=False)
    full = _worker(broker, capacity=1)
    _session(full)
    orphan = _session(dead)

    report = services.sessions_reconcile()

    assert report.unplaced == [orphan.pk]
    orphan.refresh_from_db()
    assert orphan.assigned_worker_id == dead.pk  # left for a later run, never half-moved


@pytest.mark.django_db(transaction=True)
def test_it_runs_once_when_two_beats_reconcile_at_the_same_time(broker):
    dead, _live = _worker(broker, alive=False), _worker(broker)
    sessions = [_session(dead) for _ in range(5)]
    reports = run_at_once(services.sessions_reconcile, times=2)

    moved = [pk for report in reports for pk in report.moved]
    assert sorted(moved) == sorted(s.pk for s in sessions)  # each exactly once
    for session in sessions:
        assert SessionEvent.objects.filter(session=session, kind="failover").count() == 1
