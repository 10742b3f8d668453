"""F6: sessions left in `qr_scanning` for 30 min or `disconnected` for 24 h are stopped and
soft-deleted with their snapshots, by a Beat task that is safe to run twice at once.

The clock is moved by writing the timestamps: a session's age is the time of the status
change that put it in its status (its SessionEvent), which the tests set in the past."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from blazz.celery import app as celery_app
from blazz.celery import session_queue_name
from sessions_app import services
from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession, WorkerInstance
from tests.concurrency import run_at_once
from tests.factories import SessionSnapshotFactory, WhatsAppSessionFactory, WorkerInstanceFactory
from tests.sessions_app.conftest import fresh_route

Status = WhatsAppSession.Status


def stale_session(*, status: str, entered_ago: timedelta, worker=None, **fields) -> WhatsAppSession:
    """A session that entered `status` `entered_ago`, as session_transition records it."""
    session = WhatsAppSessionFactory(status=status, assigned_worker=worker, **fields)
    fresh_route(session)
    event = SessionEvent.objects.create(
        session=session, kind=SessionEvent.Kind.STATUS_CHANGE, detail={"from": "starting", "to": status}
    )
    SessionEvent.objects.filter(pk=event.pk).update(at=timezone.now() - entered_ago)
    return session


def status_changes_to(session, status: str) -> int:
    return session.events.filter(kind=SessionEvent.Kind.STATUS_CHANGE, detail__to=status).count()


def stop_tasks(broker, worker) -> list[int]:
    return [
        t.kwargs["session_pk"] for t in broker.tasks(worker) if t.name == "sessions_app.tasks.session_stop"
    ]


@pytest.mark.django_db
class TestStaleCleanup:
    # The `db` fixture never commits, so the stop task (sent on commit) is captured with
    # django_capture_on_commit_callbacks(execute=True) where a test reads the broker.

    def test_it_cleans_a_qr_scanning_session_31_minutes_old(
        self, live_worker, broker, django_capture_on_commit_callbacks
    ):
        session = stale_session(
            status=Status.QR_SCANNING, entered_ago=timedelta(minutes=31), worker=live_worker
        )
        SessionSnapshotFactory(session=session)

        with django_capture_on_commit_callbacks(execute=True):
            result = services.sessions_cleanup_stale()

        session.refresh_from_db()
        assert result.qr_scanning == 1
        assert session.status == Status.STOPPED
        assert session.deleted_at is not None
        assert not SessionSnapshot.objects.filter(session=session).exists()
        last = session.events.filter(kind=SessionEvent.Kind.STATUS_CHANGE).order_by("-at", "-id").first()
        assert last.detail["to"] == Status.STOPPED
        assert last.detail["reason"] == "stale qr_scanning"
        # Its browser (showing a QR nobody scans) is closed by its worker, without a snapshot.
        (task,) = broker.tasks(live_worker)
        assert task.name == "sessions_app.tasks.session_stop"
        assert task.kwargs == {"session_pk": session.pk, "reason": "stale qr_scanning", "snapshot": False}

    def test_it_keeps_a_qr_scanning_session_29_minutes_old(
        self, live_worker, broker, django_capture_on_commit_callbacks
    ):
        session = stale_session(
            status=Status.QR_SCANNING, entered_ago=timedelta(minutes=29), worker=live_worker
        )
        SessionSnapshotFactory(session=session)

        with django_capture_on_commit_callbacks(execute=True):
            result = services.sessions_cleanup_stale()

        session.refresh_from_db()
        assert result.total == 0
        assert (session.status, session.deleted_at) == (Status.QR_SCANNING, None)
        assert SessionSnapshot.objects.filter(session=session).exists()
        assert broker.tasks(live_worker) == []

    def test_it_cleans_a_disconnected_session_25_hours_old_and_keeps_one_23_hours_old(self):
        old = stale_session(status=Status.DISCONNECTED, entered_ago=timedelta(hours=25))
        recent = stale_session(status=Status.DISCONNECTED, entered_ago=timedelta(hours=23))
        SessionSnapshotFactory(session=old)
        SessionSnapshotFactory(session=recent)

        result = services.sessions_cleanup_stale()

        old.refresh_from_db()
        recent.refresh_from_db()
        assert (result.qr_scanning, result.disconnected) == (0, 1)
        assert (old.status, old.deleted_at is not None) == (Status.STOPPED, True)
        assert (recent.status, recent.deleted_at) == (Status.DISCONNECTED, None)
        assert not SessionSnapshot.objects.filter(session=old).exists()
        assert SessionSnapshot.objects.filter(session=recent).exists()

    def test_it_honours_the_thresholds_in_settings(self, settings):
        settings.BLAZZ_STALE_QR_MINUTES = 5
        settings.BLAZZ_STALE_DISCONNECTED_HOURS = 1
        qr = stale_session(status=Status.QR_SCANNING, entered_ago=timedelta(minutes=6))
        gone = stale_session(status=Status.DISCONNECTED, entered_ago=timedelta(minutes=61))

        result = services.sessions_cleanup_stale()

        assert (result.qr_scanning, result.disconnected) == (1, 1)
        assert WhatsAppSession.objects.filter(pk__in=[qr.pk, gone.pk], deleted_at__isnull=True).count() == 0

    def test_it_counts_age_from_the_last_status_change_not_from_updated_at(self):
        # Parked in qr_scanning for 40 min, but saved a moment ago (metadata): still stale.
        parked = stale_session(status=Status.QR_SCANNING, entered_ago=timedelta(minutes=40))
        parked.metadata = {"touched": True}
        parked.save()
        # Created two hours ago, back in qr_scanning only 5 min ago (a refreshed QR): not stale.
        refreshed = stale_session(status=Status.QR_SCANNING, entered_ago=timedelta(hours=2))
        SessionEvent.objects.create(
            session=refreshed,
            kind=SessionEvent.Kind.STATUS_CHANGE,
            detail={"from": "qr_scanning", "to": "starting"},
        )
        again = SessionEvent.objects.create(
            session=refreshed,
            kind=SessionEvent.Kind.STATUS_CHANGE,
            detail={"from": "starting", "to": "qr_scanning"},
        )
        SessionEvent.objects.filter(pk=again.pk).update(at=timezone.now() - timedelta(minutes=5))
        WhatsAppSession.objects.filter(pk=refreshed.pk).update(created_at=timezone.now() - timedelta(hours=2))

        services.sessions_cleanup_stale()

        assert WhatsAppSession.objects.get(pk=parked.pk).deleted_at is not None
        assert WhatsAppSession.objects.get(pk=refreshed.pk).deleted_at is None

    def test_it_falls_back_to_the_creation_time_when_no_status_change_was_recorded(self):
        never_changed = WhatsAppSessionFactory(status=Status.DISCONNECTED)
        WhatsAppSession.objects.filter(pk=never_changed.pk).update(
            created_at=timezone.now() - timedelta(hours=30)
        )
        young = WhatsAppSessionFactory(status=Status.DISCONNECTED)

        assert services.sessions_cleanup_stale().disconnected == 1
        assert WhatsAppSession.objects.get(pk=never_changed.pk).deleted_at is not None
        assert WhatsAppSession.objects.get(pk=young.pk).deleted_at is None

    def test_it_leaves_other_statuses_and_deleted_sessions_alone(self):
        long_ago = timedelta(days=3)
        kept = [
            stale_session(status=status, entered_ago=long_ago)
            for status in (
                Status.CONNECTED,
                Status.STARTING,
                Status.AUTHENTICATED,
                Status.FAILED,
                Status.STOPPED,
            )
        ]
        deleted = stale_session(status=Status.DISCONNECTED, entered_ago=long_ago, deleted_at=timezone.now())

        assert services.sessions_cleanup_stale().total == 0

        for session in kept:
            session.refresh_from_db()
            assert session.deleted_at is None
        assert status_changes_to(deleted, Status.STOPPED) == 0

    def test_it_clears_the_primary_flag_of_a_retired_number(self):
        primary = stale_session(status=Status.DISCONNECTED, entered_ago=timedelta(hours=25), is_primary=True)

        services.sessions_cleanup_stale()

        primary.refresh_from_db()
        assert primary.is_primary is False

    def test_it_sends_a_stop_only_where_a_browser_may_still_be_open(
        self, broker, django_capture_on_commit_callbacks
    ):
        hosting = WorkerInstanceFactory(name=f"clean-{uuid.uuid4().hex[:8]}")
        broker.queues.add(session_queue_name(hosting.name))
        dead = WorkerInstanceFactory(name=f"clean-{uuid.uuid4().hex[:8]}", status=WorkerInstance.Status.DEAD)
        broker.queues.add(session_queue_name(dead.name))
        day = timedelta(hours=25)
        closed = stale_session(status=Status.DISCONNECTED, entered_ago=day, worker=hosting)
        still_open = stale_session(status=Status.DISCONNECTED, entered_ago=day, worker=hosting)
        on_dead = stale_session(status=Status.QR_SCANNING, entered_ago=day, worker=dead)
        WorkerInstance.objects.filter(pk=hosting.pk).update(
            metrics={"sessions": [still_open.pk], "session_count": 1}
        )

        with django_capture_on_commit_callbacks(execute=True):
            assert services.sessions_cleanup_stale().total == 3

        assert stop_tasks(broker, hosting) == [still_open.pk]
        assert stop_tasks(broker, dead) == []
        assert closed.pk not in stop_tasks(broker, hosting)
        assert WhatsAppSession.objects.get(pk=on_dead.pk).deleted_at is not None

    def test_it_is_a_registered_task_routed_to_the_maintenance_queue(self):
        from sessions_app import tasks

        name = "sessions_app.tasks.sessions_cleanup_stale"
        assert name in celery_app.tasks
        route = celery_app.amqp.router.route({}, name)
        assert route["queue"].name == "maintenance"
        session = stale_session(status=Status.QR_SCANNING, entered_ago=timedelta(minutes=45))

        assert tasks.sessions_cleanup_stale() == {"qr_scanning": 1, "disconnected": 0}
        assert WhatsAppSession.objects.get(pk=session.pk).deleted_at is not None


@pytest.mark.django_db(transaction=True)
def test_it_cleans_each_session_once_when_two_runs_race(broker):
    worker = WorkerInstanceFactory(name=f"race-{uuid.uuid4().hex[:8]}")
    broker.queues.add(session_queue_name(worker.name))
    sessions = [
        stale_session(status=status, entered_ago=timedelta(hours=25), worker=worker)
        for status in [Status.QR_SCANNING, Status.DISCONNECTED] * 20
    ]
    WorkerInstance.objects.filter(pk=worker.pk).update(metrics={"sessions": [s.pk for s in sessions]})
    results = run_at_once(services.sessions_cleanup_stale, times=2)

    assert sum(r.total for r in results) == len(sessions)
    for session in sessions:
        assert status_changes_to(session, Status.STOPPED) == 1, session
        assert WhatsAppSession.objects.get(pk=session.pk).deleted_at is not None
    # One stop per session on its worker's queue, none twice.
    stops = stop_tasks(broker, worker)
    assert sorted(stops) == sorted(s.pk for s in sessions)
