"""Per-key throttles on the Redis cache: the key past its rate gets 429 with Retry-After and
the API's error body, another key is unaffected, and sends have their own tighter budget."""

import pytest
from django.core.cache import cache

from messaging.models import Chat
from tests.conftest import api_client_for
from tests.factories import WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def test_it_throttles_one_key_and_not_another(settings, alice, workspace_a):
    settings.BLAZZ_API_THROTTLE_RATE = "3/min"
    first, second = api_client_for(workspace_a, alice), api_client_for(workspace_a, alice)

    answers = [first.get("/api/v1/contacts").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    refused = first.get("/api/v1/contacts")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "throttled"
    assert "Expected available in" in refused.json()["error"]["message"]
    assert second.get("/api/v1/contacts").status_code == 200


def test_it_gives_sends_their_own_budget(settings, alice, workspace_a):
    settings.BLAZZ_API_SEND_THROTTLE_RATE = "2/hour"
    WhatsAppSessionFactory(
        workspace=workspace_a, status="connected", phone_number="+12015550100", is_primary=True
    )
    api = api_client_for(workspace_a, alice)

    sends = [
        api.post("/api/v1/messages", {"to": "+12015550199", "body": f"hi {n}"}).status_code for n in range(3)
    ]

    assert sends == [201, 201, 429]
    assert Chat.objects.count() == 2
    assert int(api.post("/api/v1/messages", {"to": "+12015550199", "body": "again"})["Retry-After"]) > 60
    # Reading is not sending: the general budget still answers.
    assert api.get("/api/v1/messages").status_code == 200


def test_it_turns_a_throttle_off_with_an_empty_rate(settings, alice, workspace_a):
    settings.BLAZZ_API_THROTTLE_RATE = ""
    api = api_client_for(workspace_a, alice)

    assert {api.get("/api/v1/workspace").status_code for _ in range(20)} == {200}
