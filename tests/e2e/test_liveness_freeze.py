"""F7 end to end: a page that WhatsApp's servers silently stop serving (the simulator's
freeze: it still says connected and ready) is found by the liveness check that Beat asks
for, restarted from its snapshot without a QR, and the messages that arrived during the
hang are stored once it is back."""

import time

import pytest

from messaging.models import Chat
from sessions_app import tasks
from sessions_app.models import SessionSnapshot, WhatsAppSession, WorkerInstance
from tests.e2e.test_connect_number import connect
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBER, CUSTOMER = "+5511987650095", "+14155550195"


def _timeline(session) -> str:
    return "\n".join(f"{e.at:%H:%M:%S.%f} {e.kind} {e.detail}" for e in session.events.order_by("at", "id"))


def _liveness(session):
    return WhatsAppSession.objects.get(pk=session.pk).metadata.get("liveness") or {}


def test_it_restarts_a_frozen_session_and_stores_what_arrived_during_the_hang(sim, start_worker):
    worker = start_worker("wa_live", env={"BLAZZ_LIVENESS_PROBE_TIMEOUT_SECONDS": "3"})
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_live").exists(), what="worker", log=worker.log)
    session = connect(sim, worker, WorkspaceFactory(), NUMBER)
    wait_until(lambda: SessionSnapshot.objects.filter(session=session).exists(), timeout=30, what="snapshot")
    device_id = next(d["device_id"] for d in sim.ok("GET", "/devices") if d["phone"] == NUMBER)

    tasks.sessions_liveness_check()  # Beat's task; the probe itself runs on the worker
    wait_until(
        lambda: _liveness(session).get("last", {}).get("ok") is True, what="a passing check", log=worker.log
    )

    sim.ok("POST", f"/devices/{device_id}/freeze", {})
    for i in range(3):
        sim.ok("POST", "/messages", {"from": CUSTOMER, "to": NUMBER, "body": f"durante o travamento {i}"})
    time.sleep(2)
    assert not Chat.objects.filter(whatsapp_session=session).exists()  # deaf, and still "connected"
    assert WhatsAppSession.objects.get(pk=session.pk).status == "connected"
    frozen_at = time.monotonic()

    tasks.sessions_liveness_check()

    wait_until(
        lambda: session.events.filter(kind="probe_failure").exists(),
        timeout=20,
        what="the failed probe",
        log=worker.log,
    )
    wait_until(
        lambda: Chat.objects.filter(whatsapp_session=session, direction="inbound").count() == 3,
        timeout=60,
        what="the messages of the hang",
        log=lambda: f"{_timeline(session)}\n{sim.ok('GET', '/devices')}\n{worker.log()}",
    )
    wait_until(
        lambda: WhatsAppSession.objects.get(pk=session.pk).status == "connected",
        timeout=30,
        what="connected again",
        log=worker.log,
    )
    recovered_s = time.monotonic() - frozen_at
    assert session.events.filter(kind="restart", detail__reason__startswith="liveness").exists()
    statuses = [e.detail["to"] for e in session.events.filter(kind="status_change").order_by("at", "id")]
    assert statuses.count("qr_scanning") == 1  # restored from its snapshot, no QR
    print(f"\nfrozen page detected and recovered in {recovered_s:.1f}s")

    tasks.sessions_liveness_check()  # the restarted page passes, and the count is reset
    wait_until(lambda: _liveness(session).get("restarts") == [], what="restart count reset", log=worker.log)
