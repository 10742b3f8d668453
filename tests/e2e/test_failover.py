"""F9/F10 fault test: kill -9 the session worker hosting 3 connected numbers while 100 sends
are in flight and the simulator delivers inbound messages during the outage. Reconciliation
(what Beat runs every 30 s; here every second, with the dead-worker threshold at 5 s) moves
the numbers to the other worker, which restores them from their snapshots without a QR
scan; every send reaches WhatsApp exactly once and every inbound message is stored once."""

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from messaging import services as messaging
from messaging.models import Chat
from sessions_app import services
from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession, WorkerInstance
from tests.e2e.test_connect_number import connect
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBERS = ["+5511987650081", "+5511987650082", "+5511987650083"]
SENDS = 100
INBOUND_PER_NUMBER = 10


def _diagnose(sim, workspace, doomed) -> str:
    stored = sorted(
        Chat.objects.filter(workspace=workspace, direction="inbound").values_list("body", flat=True)
    )
    timeline = [
        (e.session.session_id, e.kind, e.detail, e.at.strftime("%H:%M:%S.%f"))
        for e in SessionEvent.objects.filter(session__workspace=workspace)
        .exclude(kind="page_event")
        .select_related("session")
        .order_by("at", "id")
    ]
    reaper_logs = "".join(log.read_text() for log in doomed.data_dir.rglob("reaper.log"))
    return (
        f"stored inbound: {stored}\ndevices: {sim.ok('GET', '/devices')}\ntimeline: {timeline}\n"
        f"--- reaper log ---\n{reaper_logs or '(none)'}\n"
    )


def _alive(name):
    return WorkerInstance.objects.filter(name=name, status="alive").exists()


def test_it_moves_a_dead_workers_numbers_and_loses_or_repeats_nothing(sim, start_worker, settings):
    settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS = 5
    doomed = start_worker("wa_a")
    wait_until(lambda: _alive("wa_a"), what="worker a", log=doomed.log)
    workspace = WorkspaceFactory()
    settings.BLAZZ_QR_ATTEMPTS_PER_HOUR = 10
    sessions = [connect(sim, doomed, workspace, number) for number in NUMBERS]
    wait_until(
        lambda: SessionSnapshot.objects.filter(session__in=sessions).count() == 3,
        timeout=30,
        what="3 snapshots",
        log=doomed.log,
    )
    survivor = start_worker("wa_b")
    wait_until(lambda: _alive("wa_b"), what="worker b", log=survivor.log)
    assert {s.assigned_worker.name for s in sessions} == {"wa_a"}

    # 100 sends spread over the 3 numbers; the worker dies a third of the way through.
    issued: list[str] = []

    def send_all() -> None:
        try:
            for i in range(SENDS):
                messaging.chat_send(
                    workspace=workspace,
                    to=f"+1415555{i:04d}",
                    body=f"envio {i}",
                    session=sessions[i % 3],
                    idempotency_key=f"failover-{i}",
                )
                issued.append(f"envio {i}")
                time.sleep(0.02)
        finally:
            connection.close()  # this thread's own connection, or the test database cannot be dropped

    sender = threading.Thread(target=send_all)
    sender.start()
    wait_until(lambda: len(issued) >= SENDS // 3, timeout=30, what="a third of the sends")
    killed_wall = timezone.now()
    doomed.kill()
    killed_at = time.monotonic()
    for number in NUMBERS:
        for i in range(INBOUND_PER_NUMBER):
            sim.ok(
                "POST", "/messages", {"from": "+14155559999", "to": number, "body": f"{number} durante {i}"}
            )
    sender.join(timeout=60)
    assert len(issued) == SENDS

    def all_back() -> bool:
        services.sessions_reconcile()  # Beat's job, on a faster clock
        return (
            WhatsAppSession.objects.filter(
                pk__in=[s.pk for s in sessions], status="connected", assigned_worker__name="wa_b"
            ).count()
            == 3
        )

    wait_until(all_back, timeout=120, interval=1.0, what="the 3 numbers connected on wa_b", log=survivor.log)
    recovered_s = time.monotonic() - killed_at
    wait_until(
        lambda: (
            Chat.objects.filter(workspace=workspace, direction="outbound", status="sent").count() == SENDS
        ),
        timeout=90,
        what=f"{SENDS} sends marked sent",
        log=survivor.log,
    )
    wait_until(
        lambda: (
            Chat.objects.filter(workspace=workspace, direction="inbound").count()
            >= INBOUND_PER_NUMBER * len(NUMBERS)
        ),
        timeout=60,
        what="the inbound messages of the outage",
        log=lambda: _diagnose(sim, workspace, doomed) + survivor.log(),
    )
    time.sleep(2)  # anything sent or stored twice would show up by now

    at_whatsapp = [m["body"] for number in NUMBERS for m in sim.ok("GET", f"/phones/{number}/outbox")]
    inbound = list(
        Chat.objects.filter(workspace=workspace, direction="inbound").values_list("body", flat=True)
    )
    counts = {
        "sends_attempted": SENDS,
        "sends_at_whatsapp": len(set(at_whatsapp)),
        "sends_lost": len(set(issued) - set(at_whatsapp)),
        "sends_duplicated": len(at_whatsapp) - len(set(at_whatsapp)),
        "inbound_attempted": INBOUND_PER_NUMBER * len(NUMBERS),
        "inbound_stored": len(set(inbound)),
        "inbound_duplicated": len(inbound) - len(set(inbound)),
        "recovered_s": round(recovered_s, 1),
    }
    print(f"\nfailover counts: {counts}")
    assert counts["sends_lost"] == 0 and counts["sends_duplicated"] == 0
    assert counts["sends_at_whatsapp"] == SENDS
    assert counts["inbound_stored"] == INBOUND_PER_NUMBER * len(NUMBERS) and counts["inbound_duplicated"] == 0
    for session in sessions:
        statuses = [e.detail["to"] for e in session.events.filter(kind="status_change").order_by("at", "id")]
        assert statuses.count("qr_scanning") == 1, statuses  # restored from the snapshot: no new QR
        failover = session.events.get(kind="failover")
        # The numbers moved only after the reaper had snapshotted what their pages held.
        assert session.events.filter(kind="snapshot", at__gt=killed_wall, at__lt=failover.at).exists(), list(
            session.events.filter(at__gt=killed_wall).values_list("kind", "at")
        )
    assert WorkerInstance.objects.get(name="wa_a").status == "dead"
