"""Capacity across real workers: sessions go to the worker with most free room, and a
session nobody has room for is refused clearly, never queued into the void."""

import pytest

from sessions_app import services
from sessions_app.models import WhatsAppSession, WorkerInstance
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_it_spreads_three_sessions_two_and_one_and_refuses_the_fourth(start_worker, settings):
    big = start_worker("wa_big", capacity=2)
    small = start_worker("wa_small", capacity=1)
    wait_until(
        lambda: WorkerInstance.objects.filter(status="alive").count() == 2, what="two workers", log=big.log
    )
    workspace = WorkspaceFactory()

    sessions = [services.session_create(workspace=workspace) for _ in range(3)]
    with pytest.raises(services.NoWorkerCapacity):
        services.session_create(workspace=workspace)

    assert WhatsAppSession.objects.filter(workspace=workspace).count() == 3
    wait_until(
        lambda: all(WhatsAppSession.objects.get(pk=s.pk).status == "qr_scanning" for s in sessions),
        timeout=90,
        what="every browser showing a QR",
        log=small.log,
    )
    # The workers' own heartbeats report the browsers they really run (F2).
    wait_until(
        lambda: sorted(w.metrics.get("session_count", 0) for w in WorkerInstance.objects.all()) == [1, 2],
        timeout=15,
        what="heartbeat metrics 2 + 1",
        log=big.log,
    )
