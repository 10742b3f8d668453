"""Session verbs are rows, their Celery messages wake-up calls (issue 16: "if Redis lost this
message now, what would recover it?"). A stop, restart or logout asked of a worker is the
session's pending verb until the worker has carried it out; reconciliation sends a lost one
again, or does it on the row when no worker hosts the number; a burst of the same verb is one
message; a start needs no row (an unhosted `starting` session's lease runs out)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app import services, tasks
from sessions_app.models import SessionEvent, WhatsAppSession
from tests.factories import WhatsAppSessionFactory, WorkerInstanceFactory
from tests.sessions_app.conftest import fresh_route

pytestmark = pytest.mark.django_db


def running_on(worker, status="connected", **kwargs):
    session = WhatsAppSessionFactory(
        status=status,
        assigned_worker=worker,
        lease_expires_at=timezone.now() + timedelta(seconds=60),
        **kwargs,
    )
    fresh_route(session)
    return session


def lose_the_broker(broker, worker):
    """What `redis-cli FLUSHALL` does to the worker's queue."""
    broker.redis.delete(f"wa.{worker.name}")
    assert broker.tasks(worker) == []


def age_pending_verb(session, settings):
    WhatsAppSession.objects.filter(pk=session.pk).update(
        pending_verb_at=timezone.now() - timedelta(seconds=settings.BLAZZ_SESSION_VERB_RESEND_SECONDS + 1)
    )


def test_it_sends_one_restart_for_a_burst_of_forty(live_worker, broker, django_capture_on_commit_callbacks):
    session = running_on(live_worker)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(40):
            services.session_restart(session=WhatsAppSession.objects.get(pk=session.pk))

    assert [t.name for t in broker.tasks(live_worker)] == ["sessions_app.tasks.session_restart"]
    assert WhatsAppSession.objects.get(pk=session.pk).pending_verb == "restart"


def test_a_stop_replaces_a_pending_restart_and_the_restart_then_does_nothing(
    live_worker, broker, django_capture_on_commit_callbacks
):
    session = running_on(live_worker)
    with django_capture_on_commit_callbacks(execute=True):
        services.session_restart(session=session)
        services.session_stop(session=session)
        services.session_restart(session=session)  # a stop is pending: nothing more to send

    assert [t.name for t in broker.tasks(live_worker)] == [
        "sessions_app.tasks.session_restart",
        "sessions_app.tasks.session_stop",
    ]
    # The restart's message reaches the worker first: replaced, it does not touch the browser
    # (this process hosts none, so running it would raise).
    assert (
        tasks.session_restart.run(session_pk=session.pk, reason="requested", requested=True) == "superseded"
    )


def test_a_lost_stop_is_sent_again_by_reconciliation(
    live_worker, broker, settings, django_capture_on_commit_callbacks
):
    session = running_on(live_worker)
    with django_capture_on_commit_callbacks(execute=True):
        services.session_stop(session=session)
    lose_the_broker(broker, live_worker)
    age_pending_verb(session, settings)

    with django_capture_on_commit_callbacks(execute=True):
        report = services.sessions_reconcile()

    assert report.verbs_resent == [session.pk]
    [task] = broker.tasks(live_worker)
    assert task.name == "sessions_app.tasks.session_stop"
    assert task.kwargs["requested"] is True and task.kwargs["snapshot"] is True
    assert SessionEvent.objects.filter(session=session, detail__verb_resent="stop").exists()


def test_a_lost_logout_is_sent_again_and_the_snapshot_stays_dropped(
    live_worker, broker, settings, django_capture_on_commit_callbacks
):
    session = running_on(live_worker)
    with django_capture_on_commit_callbacks(execute=True):
        services.session_logout(session=session)
    lose_the_broker(broker, live_worker)
    age_pending_verb(session, settings)

    with django_capture_on_commit_callbacks(execute=True):
        services.sessions_reconcile()

    assert [t.name for t in broker.tasks(live_worker)] == ["sessions_app.tasks.session_logout"]


def test_a_recent_pending_verb_is_left_to_its_message(
    live_worker, broker, django_capture_on_commit_callbacks
):
    session = running_on(live_worker)
    with django_capture_on_commit_callbacks(execute=True):
        services.session_stop(session=session)

    with django_capture_on_commit_callbacks(execute=True):
        report = services.sessions_reconcile()

    assert report.verbs_resent == []
    assert len(broker.tasks(live_worker)) == 1


def test_a_stop_lost_with_its_dead_worker_is_done_on_the_row_not_undone_by_the_failover(
    live_worker, broker, settings, django_capture_on_commit_callbacks
):
    dead = WorkerInstanceFactory(name="verbs-dead", last_heartbeat_at=timezone.now() - timedelta(minutes=5))
    session = running_on(dead)
    with django_capture_on_commit_callbacks(execute=True):
        services.session_stop(session=session)
    age_pending_verb(session, settings)

    with django_capture_on_commit_callbacks(execute=True):
        report = services.sessions_reconcile()

    session.refresh_from_db()
    assert session.status == "stopped" and session.pending_verb == ""
    assert session.pk not in report.moved
    assert broker.tasks(live_worker) == []  # not started elsewhere


def test_a_logout_lost_with_its_dead_worker_disconnects_the_number(
    live_worker, broker, settings, django_capture_on_commit_callbacks
):
    dead = WorkerInstanceFactory(name="verbs-dead2", last_heartbeat_at=timezone.now() - timedelta(minutes=5))
    session = running_on(dead)
    with django_capture_on_commit_callbacks(execute=True):
        services.session_logout(session=session)
    age_pending_verb(session, settings)

    with django_capture_on_commit_callbacks(execute=True):
        services.sessions_reconcile()

    session.refresh_from_db()
    assert session.status == "disconnected" and session.pending_verb == ""
    assert broker.tasks(live_worker) == []


def test_a_lost_start_is_started_again_once_its_unrenewed_lease_runs_out(
    live_worker, broker, settings, django_capture_on_commit_callbacks
):
    # session_create wrote `starting` on a live worker; its start message was lost, so the
    # worker never hosted it and its heartbeat never renewed the lease.
    session = running_on(live_worker, status="starting")
    WhatsAppSession.objects.filter(pk=session.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS + 1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        report = services.sessions_reconcile()

    assert report.moved == [session.pk]
    assert [t.name for t in broker.tasks(live_worker)] == ["sessions_app.tasks.session_start"]


@pytest.mark.parametrize("status", ["stopped", "failed", "disconnected"])
def test_a_heartbeat_hands_back_a_browser_whose_session_should_not_run(live_worker, status):
    # Its stop message was lost (a deleted or stale session, a liveness give-up): the worker
    # closes the browser at its next heartbeat instead of keeping it open for good.
    running = running_on(live_worker)
    finished = running_on(live_worker, status=status)

    lost = services.worker_heartbeat(
        worker=live_worker, live_session_pks=[running.pk, finished.pk], metrics={}
    )

    assert lost == [finished.pk]


def test_a_failover_is_the_restart_a_user_asked_of_the_dead_worker(
    live_worker, broker, django_capture_on_commit_callbacks
):
    dead = WorkerInstanceFactory(name="verbs-dead3", last_heartbeat_at=timezone.now() - timedelta(minutes=5))
    session = running_on(dead)
    with django_capture_on_commit_callbacks(execute=True):
        services.session_restart(session=session)  # its message went to the dead worker

    with django_capture_on_commit_callbacks(execute=True):
        report = services.sessions_reconcile()

    assert report.moved == [session.pk]
    assert WhatsAppSession.objects.get(pk=session.pk).pending_verb == ""
    assert [t.name for t in broker.tasks(live_worker)] == ["sessions_app.tasks.session_start"]
