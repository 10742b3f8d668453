"""Start asks first (issue 19): the recipient count, the numbers, how long at the current
pacing, what the first recipients read; and a test send to one of the workspace's own
contacts goes out as a normal message, once."""

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from messaging.models import Chat
from tests.factories import CampaignFactory, ContactFactory, WhatsAppSessionFactory
from tests.sessions_app.conftest import broker, fresh_route, live_worker  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(workspace_a, live_worker):  # noqa: F811
    number = WhatsAppSessionFactory(
        workspace=workspace_a,
        status="connected",
        phone_number="+12015550101",
        assigned_worker=live_worker,
        last_connected_at=timezone.now(),
    )
    fresh_route(number)
    for n in range(5):
        ContactFactory(
            workspace=workspace_a, phone=f"+1201555020{n}", name=f"Ana {n}", metadata={"plan": "Gold"}
        )
    return CampaignFactory(
        workspace=workspace_a, body="Hi {{name}}, your {{plan}} plan", audience={"kind": "all"}
    )


def test_the_confirmation_states_count_duration_and_samples(alice_client, campaign):
    page = alice_client.get(f"/campaigns/{campaign.uuid}/start/confirm")
    assert page.status_code == 200
    preview = page.context["preview"]
    assert (preview.recipients, preview.numbers) == (5, 1)
    assert preview.days == 1 and preview.daily_capacity > 0
    assert [text for _, text, _ in preview.samples] == [f"Hi Ana {n}, your Gold plan" for n in range(3)]
    html = page.content.decode()
    assert "5 recipients" in html and "about a day" in html
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"  # looking starts nothing


def test_a_sample_that_cannot_be_filled_in_says_why(alice_client, campaign, workspace_a):
    workspace_a.contacts.filter(phone="+12015550200").update(name="")
    Campaign.objects.filter(pk=campaign.pk).update(body="Hi {{name}}")
    preview = alice_client.get(f"/campaigns/{campaign.uuid}/start/confirm").context["preview"]
    assert any(problem and "name" in problem for _, _, problem in preview.samples)


def test_a_test_send_goes_to_one_own_contact_once(alice_client, campaign):
    answer = alice_client.post(
        f"/campaigns/{campaign.uuid}/start/confirm", {"test_to": "+1 (201) 555-0202"}, follow=True
    )
    assert "Test sent to Ana 2" in answer.content.decode()
    [test] = Chat.objects.filter(direction="outbound")
    assert test.body == "Hi Ana 2, your Gold plan" and test.contact.phone_e164 == "+12015550202"
    unknown = alice_client.post(
        f"/campaigns/{campaign.uuid}/start/confirm", {"test_to": "+14155550000"}, follow=True
    )
    assert "No contact of this workspace has that number" in unknown.content.decode()
    assert Chat.objects.count() == 1
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


def test_agents_cannot_open_it(carol_client, campaign):
    assert carol_client.get(f"/campaigns/{campaign.uuid}/start/confirm").status_code == 403
