"""A send whose wake-up call cannot be queued (Redis unreachable after the row committed) is
still accepted: the Chat row is the send and Beat's sweep wakes it (issue 16). Answering 500
for a message that exists would invite the client to send it again. The fault test
tests/e2e/test_fault_redis_loss.py shows the same against a real Redis that goes away."""

import pytest
import redis

from messaging.models import Chat
from tests.messaging.test_messages_api import TO, connected_number, send
from tests.sessions_app.conftest import broker, live_worker  # noqa: F401

pytestmark = pytest.mark.django_db


def test_it_answers_201_for_a_send_whose_wake_up_redis_refused(
    alice_api,
    workspace_a,
    live_worker,  # noqa: F811
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    number = connected_number(workspace_a, live_worker, "+12015550111", is_primary=True)

    def redis_is_down(session_pk: int) -> str:
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    # The routing cache is the first thing the wake-up asks Redis for.
    monkeypatch.setattr("sessions_app.services.workers.session_queue", redis_is_down)

    response = send(alice_api, django_capture_on_commit_callbacks, {"to": TO, "body": "Olá"})

    assert response.status_code == 201, response.content
    chat = Chat.objects.get(uuid=response.json()["uuid"])
    assert (chat.status, chat.whatsapp_session, chat.send_claimed_at) == ("pending", number, None)
