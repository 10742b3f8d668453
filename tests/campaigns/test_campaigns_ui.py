"""The Campaigns pages: owners and admins create, start, pause, resume and cancel; agents
see them read-only; the detail shows progress, counts per status, the per-number
distribution and the failed recipients with their reasons."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from campaigns import services
from campaigns.dispatch import campaigns_tick
from campaigns.models import Campaign, CampaignLog
from tests.campaigns.conftest import connected_number, make_contacts
from tests.conftest import logged_in_client
from tests.factories import CampaignFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_creates_a_draft_from_the_form_and_starts_it(alice_client, workspace_a):
    number = connected_number(workspace_a)
    make_contacts(workspace_a, 3)

    page = alice_client.get(reverse("campaigns:campaign_new"))
    assert page.status_code == 200 and str(number.phone_number).encode() in page.content
    response = alice_client.post(
        reverse("campaigns:campaign_new"),
        {
            "name": "Black Friday",
            "body": "Hi {{name}}, 20% off today",
            "audience_kind": "all",
            "sessions": [str(number.uuid)],
            "scheduled_at": "",
            "window_start_hour": "0",
            "window_end_hour": "24",
        },
    )
    campaign = Campaign.objects.get(workspace=workspace_a)
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:campaign_detail", args=[campaign.uuid])
    assert campaign.status == "draft" and list(campaign.sessions.all()) == [number]

    detail = alice_client.get(response["Location"])
    assert b'data-testid="start"' in detail.content

    alice_client.post(reverse("campaigns:campaign_start", args=[campaign.uuid]))
    campaign.refresh_from_db()
    assert campaign.status == "running" and campaign.total_count == 3
    detail = alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.uuid])).content.decode()
    assert 'data-testid="pause"' in detail and 'data-field="pending">3<' in detail
    assert str(number.phone_number) in detail  # the per-number table

    alice_client.post(reverse("campaigns:campaign_pause", args=[campaign.uuid]))
    assert Campaign.objects.get(pk=campaign.pk).status == "paused"
    alice_client.post(reverse("campaigns:campaign_resume", args=[campaign.uuid]))
    assert Campaign.objects.get(pk=campaign.pk).status == "running"
    alice_client.post(reverse("campaigns:campaign_cancel", args=[campaign.uuid]))
    assert Campaign.objects.get(pk=campaign.pk).status == "cancelled"
    assert not CampaignLog.objects.filter(campaign=campaign, status="pending").exists()


def test_it_shows_the_form_errors_and_the_refusals(alice_client, workspace_a):
    response = alice_client.post(
        reverse("campaigns:campaign_new"),
        {
            "name": "x",
            "body": "Hi {{name",
            "audience_kind": "list",
            "audience_phones": "+5511987650001\nnot a phone",
            "window_start_hour": "6",
            "window_end_hour": "22",
        },
    )
    assert response.status_code == 200
    assert b"Not phone numbers: not a phone" in response.content
    assert not Campaign.objects.exists()

    response = alice_client.post(
        reverse("campaigns:campaign_new"),
        {
            "name": "x",
            "body": "Hi {{name",
            "audience_kind": "all",
            "window_start_hour": "6",
            "window_end_hour": "22",
        },
    )
    assert b"malformed variable" in response.content

    campaign = CampaignFactory(workspace=workspace_a)
    response = alice_client.post(reverse("campaigns:campaign_start", args=[campaign.uuid]), follow=True)
    assert b"no contacts" in response.content


def test_it_reads_the_start_time_in_the_workspace_time_zone(alice_client, workspace_a):
    workspace_a.timezone = "America/Sao_Paulo"
    workspace_a.save()
    alice_client.post(
        reverse("campaigns:campaign_new"),
        {
            "name": "Later",
            "body": "Hi",
            "audience_kind": "filter",
            "audience_tag": "vip",
            "audience_metadata": "city=Recife",
            "scheduled_at": "2026-12-01T09:30",
            "window_start_hour": "8",
            "window_end_hour": "20",
        },
    )
    campaign = Campaign.objects.get()
    assert campaign.scheduled_at.isoformat() == "2026-12-01T12:30:00+00:00"
    assert campaign.audience == {"kind": "filter", "metadata": {"tags": ["vip"], "city": "Recife"}}
    edit = alice_client.get(reverse("campaigns:campaign_edit", args=[campaign.uuid])).content.decode()
    assert 'value="2026-12-01T09:30"' in edit and "city=Recife" in edit


def test_the_detail_lists_failed_recipients_with_their_reasons(alice_client, workspace_a):
    connected_number(workspace_a)
    contacts = make_contacts(workspace_a, 2)
    campaign = CampaignFactory(workspace=workspace_a, window_start_hour=0, window_end_hour=24)
    services.campaign_start(campaign=campaign)
    CampaignLog.objects.filter(contact=contacts[0]).update(
        status="failed", error="not a WhatsApp user", attempts=1
    )
    campaigns_tick(now=timezone.now() + timedelta(seconds=8))

    page = alice_client.get(reverse("campaigns:campaign_detail", args=[campaign.uuid])).content.decode()
    assert "not a WhatsApp user" in page and contacts[0].name in page
    assert 'data-testid="distribution"' in page and "/min" in page


def test_agents_see_campaigns_but_cannot_manage_them(workspace_a):
    carol = UserFactory(username="carol@example.com")
    MembershipFactory(user=carol, workspace=workspace_a, role=Membership.Role.AGENT)
    client = logged_in_client(carol, workspace_a)
    campaign = CampaignFactory(workspace=workspace_a, name="Visible")

    listing = client.get(reverse("campaigns:campaign_list"))
    assert b"Visible" in listing.content and b"new-campaign" not in listing.content
    assert (
        b'data-testid="start"'
        not in client.get(reverse("campaigns:campaign_detail", args=[campaign.uuid])).content
    )
    assert client.get(reverse("campaigns:campaign_new")).status_code == 403
    assert client.post(reverse("campaigns:campaign_start", args=[campaign.uuid])).status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
