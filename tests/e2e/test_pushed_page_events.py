"""Page events reach the worker pushed over DevTools (issue 18): with the poll and the sweep
set to ten minutes, a number still connects and its inbound messages are stored at once,
because each page wakes the worker when it has journaled something. With pushing turned off
the old poll still drains the page."""

import json
import time

import pytest

from messaging.models import Chat
from sessions_app.models import WorkerInstance
from tests.e2e.test_connect_number import connect
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBER, CUSTOMER = "+5511987650071", "+14155550171"
TEN_MINUTES_MS = "600000"


def _deliver_and_time(sim, worker, workspace, count: int) -> float:
    began = time.monotonic()
    for i in range(count):
        sim.ok("POST", "/messages", {"from": CUSTOMER, "to": NUMBER, "body": f"pushed {i}"})
    wait_until(
        lambda: Chat.objects.filter(workspace=workspace, direction="inbound").count() == count,
        timeout=20,
        what=f"{count} inbound chats",
        log=worker.log,
    )
    return time.monotonic() - began


def test_it_stores_messages_a_page_pushes_without_waiting_for_a_poll(sim, start_worker):
    worker = start_worker(
        "wa_push",
        env={
            "BLAZZ_HARVEST_TICK_MS": TEN_MINUTES_MS,
            "BLAZZ_HARVEST_SWEEP_MS": TEN_MINUTES_MS,
            "BLAZZ_INBOUND_TRACE_LEVEL": "DEBUG",
        },
    )
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_push").exists(), what="worker", log=worker.log)
    workspace = WorkspaceFactory()
    # The QR code, the login and "ready" are page events too: connecting at all needs the push.
    connect(sim, worker, workspace, NUMBER)
    _deliver_and_time(sim, worker, workspace, 30)
    stored = Chat.objects.filter(workspace=workspace, direction="inbound")
    assert sorted(c.body for c in stored) == sorted(f"pushed {i}" for i in range(30))

    # The inbound trace (what bench/density.py splits latency with) saw every message, with
    # its hops in order: queued in the page, then woken, drained, committed, confirmed.
    traced = {}
    for line in worker.log_path.read_text(errors="replace").splitlines():
        if "inbound-trace " in line:
            batch = json.loads(line.split("inbound-trace ", 1)[1])
            for wam_id, page_at in batch["messages"]:
                traced[wam_id] = (page_at / 1000, batch)
    assert set(traced) >= {c.wam_id for c in stored}
    for page_at, batch in traced.values():
        assert batch["woken_at"] is not None
        assert batch["began_at"] <= batch["drained_at"] <= batch["committed_at"] <= batch["confirmed_at"]
        assert page_at <= batch["drained_at"]


def test_it_still_polls_a_page_when_pushing_is_off(sim, start_worker):
    worker = start_worker(
        "wa_poll",
        env={
            "BLAZZ_HARVEST_PUSH": "false",
            "BLAZZ_HARVEST_TICK_MS": "200",
            "BLAZZ_HARVEST_SWEEP_MS": TEN_MINUTES_MS,
        },
    )
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_poll").exists(), what="worker", log=worker.log)
    workspace = WorkspaceFactory()
    connect(sim, worker, workspace, NUMBER)
    _deliver_and_time(sim, worker, workspace, 5)
