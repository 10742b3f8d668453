"""Per-workspace quotas (issue 16): contacts, recipients per campaign (active numbers and the
fair share are in tests/sessions_app/test_fair_share_and_number_quota.py). A write past a
quota is a 403 `quota_exceeded` in the API and a clear form error in the UI; the usage is
shown on the dashboard and in `GET /api/v1/workspace/usage`."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign
from messaging.models import Contact
from tests.campaigns.conftest import connected_number, make_contacts
from tests.conftest import logged_in_client
from tests.factories import WebhookEndpointFactory, WhatsAppSessionFactory, WorkerInstanceFactory


@pytest.fixture
def small_quotas(settings):
    settings.BLAZZ_QUOTA_CONTACTS = 3
    settings.BLAZZ_QUOTA_CAMPAIGN_RECIPIENTS = 2
    settings.BLAZZ_QUOTA_ACTIVE_NUMBERS = 4
    return settings


def test_it_refuses_a_contact_past_the_quota_in_the_api(small_quotas, alice_api, workspace_a):
    make_contacts(workspace_a, 3)
    refused = alice_api.post("/api/v1/contacts", {"phone": "+14155559999"}, format="json")
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["field"] == "phone"
    assert "at most 3 contacts" in error["message"]
    # A number it already has is not a new contact: still answered.
    assert alice_api.post("/api/v1/contacts", {"phone": "+14155550000"}, format="json").status_code == 200
    assert Contact.objects.filter(workspace=workspace_a).count() == 3


def test_it_shows_the_contact_quota_as_a_form_error(small_quotas, alice, workspace_a):
    make_contacts(workspace_a, 3)
    page = logged_in_client(alice, workspace_a).post("/contacts/", {"phone": "+14155559999", "name": "New"})
    assert page.status_code == 400
    assert "at most 3 contacts" in page.content.decode()


def test_it_keeps_contacts_of_inbound_messages_past_the_quota(small_quotas, workspace_a):
    from messaging.services.contacts import SenderIdentity, contacts_for_senders

    make_contacts(workspace_a, 3)
    found = contacts_for_senders(
        workspace=workspace_a, senders={SenderIdentity(phone="+14155559999", lid=None)}
    )
    assert len(found) == 1
    assert Contact.objects.filter(workspace=workspace_a).count() == 4


def test_it_refuses_a_list_campaign_past_the_recipients_quota(small_quotas, alice_api, workspace_a):
    refused = alice_api.post(
        "/api/v1/campaigns",
        {"name": "Big", "body": "Hi", "audience": {"kind": "list", "phones": ["+14155550100"] * 3}},
        format="json",
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "quota_exceeded",
        "message": refused.json()["error"]["message"],
        "field": "audience",
    }
    assert "at most 2 recipients in one campaign" in refused.json()["error"]["message"]
    assert not Campaign.objects.exists()


def test_it_refuses_to_start_a_campaign_whose_audience_passed_the_quota(small_quotas, alice_api, workspace_a):
    make_contacts(workspace_a, 3)
    connected_number(workspace_a)
    created = alice_api.post("/api/v1/campaigns", {"name": "All", "body": "Hi"}, format="json")
    refused = alice_api.post(f"/api/v1/campaigns/{created.json()['uuid']}/start")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "quota_exceeded"


def test_it_refuses_a_short_list_that_would_pass_the_contacts_quota_and_creates_none(
    small_quotas, alice_api, workspace_a
):
    small_quotas.BLAZZ_QUOTA_CAMPAIGN_RECIPIENTS = 100
    make_contacts(workspace_a, 2)
    refused = alice_api.post(
        "/api/v1/campaigns",
        {"name": "L", "body": "Hi", "audience": {"kind": "list", "phones": ["+14155550100", "+14155550101"]}},
        format="json",
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert Contact.objects.filter(workspace=workspace_a).count() == 2


def test_it_shows_the_usage_in_the_api_and_on_the_dashboard(small_quotas, alice, alice_api, workspace_a):
    WorkerInstanceFactory(capacity=10)
    WhatsAppSessionFactory(workspace=workspace_a, status="connected")
    WhatsAppSessionFactory(workspace=workspace_a, status="stopped")
    make_contacts(workspace_a, 2)
    WebhookEndpointFactory(workspace=workspace_a)

    body = alice_api.get("/api/v1/workspace/usage").json()
    usage = {item["name"]: item for item in body["items"]}
    assert (usage["active_numbers"]["used"], usage["active_numbers"]["limit"]) == (1, 4)
    assert (usage["browsers"]["used"], usage["browsers"]["limit"]) == (1, 5)
    assert (usage["contacts"]["used"], usage["contacts"]["limit"], usage["contacts"]["reached"]) == (
        2,
        3,
        False,
    )
    assert usage["webhook_endpoints"]["used"] == 1
    assert usage["campaign_recipients"]["limit"] == 2
    assert body["fleet_capacity"] == 10

    page = logged_in_client(alice, workspace_a).get("/").content.decode()
    assert 'data-testid="usage"' in page
    assert 'data-quota="contacts"' in page and "Contacts (new customers" in page


def test_it_refuses_a_send_to_a_new_number_past_the_contacts_quota(small_quotas, alice_api, workspace_a):
    connected_number(workspace_a)
    make_contacts(workspace_a, 3)
    refused = alice_api.post("/api/v1/messages", {"to": "+14155559999", "body": "Hi"}, format="json")
    assert refused.status_code == 403, refused.content
    assert refused.json()["error"]["code"] == "quota_exceeded"
    # An existing contact is still reachable.
    assert (
        alice_api.post("/api/v1/messages", {"to": "+14155550000", "body": "Hi"}, format="json").status_code
        == 201
    )
