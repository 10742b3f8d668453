"""Connecting a number end to end: a session created through the services lands on a real
worker, its QR reaches the database, the simulated phone scans it, the session becomes
connected with the right phone, and a warm restart of the worker restores it with no QR."""

import pytest

from sessions_app import services
from sessions_app.models import SessionSnapshot, WhatsAppSession, WorkerInstance
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PHONE = "+5511987650001"


def status_of(session):
    return WhatsAppSession.objects.get(pk=session.pk).status


def connect(sim, worker, workspace, phone):
    session = services.session_create(workspace=workspace)
    qr = wait_until(
        lambda: WhatsAppSession.objects.get(pk=session.pk).qr_code,
        timeout=60,
        what="a QR in the database",
        log=worker.log,
    )
    sim.ok("POST", "/scan", {"phone": phone, "code": qr})
    wait_until(lambda: status_of(session) == "connected", timeout=30, what="connected", log=worker.log)
    return WhatsAppSession.objects.get(pk=session.pk)


def test_it_connects_a_number_by_qr_and_restores_it_after_a_warm_worker_restart(sim, start_worker):
    worker = start_worker("wa_e2e")
    wait_until(
        lambda: WorkerInstance.objects.filter(name="wa_e2e", status="alive").exists(),
        what="worker ready",
        log=worker.log,
    )
    workspace = WorkspaceFactory()

    session = connect(sim, worker, workspace, PHONE)

    assert str(session.phone_number) == PHONE
    assert session.is_primary
    statuses = [e.detail["to"] for e in session.events.filter(kind="status_change").order_by("at", "id")]
    assert statuses == ["qr_scanning", "authenticated", "connected"]
    wait_until(
        lambda: SessionSnapshot.objects.filter(session=session).exists(),
        timeout=30,
        what="a snapshot",
        log=worker.log,
    )

    worker.stop()
    session.refresh_from_db()
    assert session.assigned_worker is None and session.status == "connected"
    assert not sim.ok("GET", "/qr")  # nobody is showing a QR

    # The same worker comes back; the session has no worker, so give it back (reconciliation
    # does this in production) and the worker restores it from the snapshot.
    worker = start_worker("wa_e2e")
    wait_until(
        lambda: WorkerInstance.objects.filter(name="wa_e2e", status="alive").exists(),
        what="worker back",
        log=worker.log,
    )
    services.session_assign(
        session_pk=session.pk, reason="test", worker=WorkerInstance.objects.get(name="wa_e2e")
    )
    services.enqueue_on_session_worker("session_start", session.pk)
    wait_until(
        lambda: session.events.filter(kind="status_change", detail__to="connected").count() == 2,
        timeout=60,
        what="connected again",
        log=worker.log,
    )
    new_statuses = [e.detail["to"] for e in session.events.filter(kind="status_change").order_by("at", "id")]
    assert "qr_scanning" not in new_statuses[3:], new_statuses


def test_it_retires_the_old_session_when_the_same_phone_connects_again(sim, start_worker):
    worker = start_worker("wa_e2e")
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_e2e").exists(), what="worker", log=worker.log)
    workspace = WorkspaceFactory()
    first = connect(sim, worker, workspace, PHONE)
    second = connect(sim, worker, workspace, PHONE)
    first.refresh_from_db()
    assert first.status == "disconnected" and second.status == "connected"
    assert WhatsAppSession.objects.filter(workspace=workspace, status="connected").count() == 1
