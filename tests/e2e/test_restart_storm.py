"""A restart storm on one number (issue 16: "40 restarts in a burst log the tenant's own
number out"): 40 restarts asked through the service in one burst, on a real worker with
four task threads, real Chromium and the simulator. Verbs on one session are serialised and
coalesced, and a snapshot is never taken from a page that is not logged in, so the burst
ends with the number connected, with no new QR, still linked on the phone, and with a
snapshot as good as the one it had."""

import pytest
import redis
from django.conf import settings

from blazz.celery import session_queue_name
from sessions_app import services
from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession, WorkerInstance
from tests.e2e.test_connect_number import connect, status_of
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PHONE = "+5511987650077"
RESTARTS = 40


def broker_idle(worker_name: str) -> bool:
    """Nothing queued for the worker and nothing taken but unfinished (acks_late keeps a
    running task in kombu's `unacked` hash until it returns)."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return broker.llen(session_queue_name(worker_name)) == 0 and broker.hlen("unacked") == 0


def settled_connected(session) -> bool:
    """Connected, with no restart begun after the last time it became connected."""
    if status_of(session) != "connected":
        return False
    last_connected = (
        SessionEvent.objects.filter(session=session, kind="status_change", detail__to="connected")
        .order_by("-at", "-id")
        .first()
    )
    return not SessionEvent.objects.filter(
        session=session, kind="status_change", detail__to="starting", id__gt=last_connected.id
    ).exists()


def connected_with_snapshot(sim, start_worker):
    worker = start_worker("wa_storm")
    wait_until(
        lambda: WorkerInstance.objects.filter(name="wa_storm", status="alive").exists(),
        what="worker ready",
        log=worker.log,
    )
    session = connect(sim, worker, WorkspaceFactory(), PHONE)
    wait_until(
        lambda: SessionSnapshot.objects.filter(session=session).exists(),
        timeout=30,
        what="the first snapshot",
        log=worker.log,
    )
    return worker, session


def assert_same_login_after_the_storm(sim, worker, session, ask_restart) -> None:
    good = SessionSnapshot.objects.get(session=session)
    devices_before = sim.ok("GET", "/phones").get(PHONE)
    assert devices_before, "the phone has the session's device linked"
    qr_before = SessionEvent.objects.filter(session=session, detail__to="qr_scanning").count()
    last_event_before = SessionEvent.objects.filter(session=session).order_by("-id").first().id

    for _ in range(RESTARTS):
        ask_restart()

    wait_until(lambda: broker_idle("wa_storm"), timeout=240, what="the burst handled", log=worker.log)
    wait_until(lambda: settled_connected(session), timeout=90, what="connected again", log=worker.log)

    events = list(SessionEvent.objects.filter(session=session, id__gt=last_event_before).order_by("id"))
    print(
        f"restart storm: {RESTARTS} asked, {sum(e.kind == 'restart' for e in events)} browser restarts, "
        f"snapshots {[e.detail.get('size_bytes') for e in events if e.kind == 'snapshot']}"
    )
    assert SessionEvent.objects.filter(session=session, detail__to="qr_scanning").count() == qr_before, (
        "no new QR"
    )
    assert sim.ok("GET", "/phones").get(PHONE) == devices_before, "the phone did not lose its linked device"
    snapshot = SessionSnapshot.objects.get(session=session)
    # The same login, or a newer one of a logged-in page: never the few hundred bytes of an
    # empty profile.
    assert snapshot.size_bytes >= good.size_bytes // 2, (good.size_bytes, snapshot.size_bytes)
    session.refresh_from_db()
    assert str(session.phone_number) == PHONE


def test_it_ends_a_burst_of_40_restarts_connected_with_the_same_login(sim, start_worker):
    worker, session = connected_with_snapshot(sim, start_worker)

    assert_same_login_after_the_storm(
        sim,
        worker,
        session,
        lambda: services.session_restart(session=WhatsAppSession.objects.get(pk=session.pk)),
    )


def test_the_worker_serialises_40_restart_messages_that_reach_it_at_once(sim, start_worker):
    # Messages the service did not coalesce (liveness, reassignment, redeliveries of one
    # message): four task threads take them together; the worker runs them one at a time.
    worker, session = connected_with_snapshot(sim, start_worker)

    assert_same_login_after_the_storm(
        sim,
        worker,
        session,
        lambda: services.enqueue_on_session_worker("session_restart", session.pk, reason="storm"),
    )
