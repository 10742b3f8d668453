"""Staff pause, resume, cancel and start campaigns from the admin through the same services."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from tests.campaigns.conftest import connected_number, make_contacts
from tests.factories import CampaignFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_staff_run_the_campaign_verbs_from_the_admin(client):
    client.force_login(UserFactory(username="staff@example.com", is_staff=True, is_superuser=True))
    workspace = WorkspaceFactory()
    connected_number(workspace)
    make_contacts(workspace, 2)
    campaign = CampaignFactory(workspace=workspace)
    url = reverse("admin:campaigns_campaign_changelist")

    def act(action):
        return client.post(url, {"action": action, "_selected_action": [campaign.pk]}, follow=True)

    act("campaign_start")
    assert Campaign.objects.get(pk=campaign.pk).status == "running"
    act("campaign_pause")
    assert Campaign.objects.get(pk=campaign.pk).status == "paused"
    refused = act("campaign_pause")  # idempotent
    assert refused.status_code == 200
    act("campaign_cancel")
    assert Campaign.objects.get(pk=campaign.pk).status == "cancelled"
    refused = act("campaign_resume")
    assert b"Only a paused campaign" in refused.content
    assert client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).status_code == 200
