"""The push name through the real page: the simulator's WhatsApp Web puts the sender's own
name in the incoming MsgModel's `notifyName` (wa-js 4.6.0 `whatsapp/models/MsgModel.ts`), the
bridge hands it in as `push_name`, and the contact shows it."""

import pytest

from messaging.models import Contact
from sessions_app.models import WorkerInstance
from tests.e2e.test_connect_number import connect
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBER, CUSTOMER = "+5511987650081", "+14155550181"


def test_the_simulated_page_hands_in_the_senders_push_name(sim, start_worker):
    worker = start_worker("wa_names")
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_names").exists(), what="worker", log=worker.log)
    workspace = WorkspaceFactory()
    connect(sim, worker, workspace, NUMBER)

    sim.ok("POST", "/messages", {"from": CUSTOMER, "to": NUMBER, "body": "oi", "push_name": "Bia Souza"})
    wait_until(
        lambda: Contact.objects.filter(workspace=workspace, profile_name="Bia Souza").exists(),
        timeout=30,
        what="the push name on the contact",
        log=worker.log,
    )
    assert Contact.objects.get(workspace=workspace).label == "Bia Souza"
