"""The campaigns API: CRUD of drafts, start/pause/resume/cancel, progress and recipients;
refusals are clear 400/409 answers; every endpoint is in the OpenAPI schema."""

from datetime import timedelta

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from campaigns.dispatch import campaigns_tick
from campaigns.models import Campaign
from tests.campaigns.conftest import connected_number, make_contacts
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(alice, workspace_a):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Api-Key " + api_key_create(workspace=workspace_a, name="t", created_by=alice)[1]
    )
    return client


def test_it_creates_edits_starts_and_reports_progress(api, workspace_a):
    number = connected_number(workspace_a)
    make_contacts(workspace_a, 4, tags=["vip"])
    ContactFactory(workspace=workspace_a, name="Not vip")

    created = api.post(
        "/api/v1/campaigns",
        {
            "name": "Launch",
            "body": "Hi {{name}}",
            "audience": {"kind": "filter", "metadata": {"tags": ["vip"]}},
            "sessions": [str(number.uuid)],
            "window_start_hour": 0,
            "window_end_hour": 24,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["status"] == "draft" and data["sessions"] == [str(number.uuid)]
    assert data["audience"] == {"kind": "filter", "metadata": {"tags": ["vip"]}, "contact_count": None}
    url = f"/api/v1/campaigns/{data['uuid']}"

    edited = api.patch(url, {"name": "Launch 2"}, format="json")
    assert edited.status_code == 200 and edited.json()["name"] == "Launch 2"

    started = api.post(f"{url}/start")
    assert started.status_code == 200, started.content
    assert started.json()["status"] == "running" and started.json()["total_count"] == 4

    campaigns_tick(now=timezone.now() + timedelta(seconds=8))  # the first send is 0-7 s after start
    progress = api.get(f"{url}/progress").json()
    assert progress["total"] == 4 and progress["ongoing"] == 1 and progress["pending"] == 3
    assert progress["numbers"][0]["phone"] == str(number.phone_number)
    assert progress["numbers"][0]["total"] == 4 and progress["numbers"][0]["daily_cap"] == 3000

    logs = api.get(f"{url}/logs?status=ongoing").json()["results"]
    assert len(logs) == 1 and logs[0]["attempts"] == 1 and logs[0]["message"]
    assert api.get(f"{url}/logs?status=nope").status_code == 400

    assert api.post(f"{url}/pause").json()["status"] == "paused"
    assert api.post(f"{url}/pause").json()["status"] == "paused"  # idempotent
    assert api.post(f"{url}/resume").json()["status"] == "running"
    cancelled = api.post(f"{url}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["skipped_count"] == 4
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_it_answers_refusals_with_400_and_409(api, workspace_a):
    make_contacts(workspace_a, 1, name="")
    bad = api.post("/api/v1/campaigns", {"name": "x", "body": "Hi {{name"}, format="json")
    assert bad.status_code == 400 and "malformed" in bad.json()["error"]["message"]

    campaign = api.post("/api/v1/campaigns", {"name": "x", "body": "Hi {{name}}"}, format="json").json()
    url = f"/api/v1/campaigns/{campaign['uuid']}"
    connected_number(workspace_a)
    missing = api.post(f"{url}/start")
    assert (
        missing.status_code == 400
        and "{{name}} has no value for 1 of 1" in missing.json()["error"]["message"]
    )

    api.patch(
        url,
        {"body": "Hi {{name|there}}", "sessions": [str(connected_number(workspace_a).uuid)]},
        format="json",
    )
    Campaign.objects.get(uuid=campaign["uuid"]).sessions.update(status="disconnected")
    no_number = api.post(f"{url}/start")
    assert no_number.status_code == 409 and "connected" in no_number.json()["error"]["message"]
    assert api.post(f"{url}/pause").status_code == 409
    assert Campaign.objects.get(uuid=campaign["uuid"]).status == "draft"


def test_it_creates_once_per_idempotency_key(api, workspace_a):
    body = {"name": "once", "body": "Hi"}
    first = api.post("/api/v1/campaigns", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/campaigns", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["uuid"] == again.json()["uuid"]
    assert Campaign.objects.filter(workspace=workspace_a).count() == 1


def test_it_lists_only_the_workspaces_campaigns(api, workspace_a, workspace_b):
    mine = api.post("/api/v1/campaigns", {"name": "mine", "body": "Hi"}, format="json").json()
    from tests.factories import CampaignFactory

    CampaignFactory(workspace=workspace_b, name="theirs")
    listed = api.get("/api/v1/campaigns").json()["results"]
    assert [c["uuid"] for c in listed] == [mine["uuid"]]


def test_every_campaign_endpoint_is_in_the_openapi_schema(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    assert set(paths["/api/v1/campaigns"]) == {"get", "post"}
    assert set(paths["/api/v1/campaigns/{campaign_uuid}"]) == {"get", "patch", "delete"}
    for verb in ("start", "pause", "resume", "cancel"):
        assert set(paths[f"/api/v1/campaigns/{{campaign_uuid}}/{verb}"]) == {"post"}
    assert "get" in paths["/api/v1/campaigns/{campaign_uuid}/progress"]
    assert "get" in paths["/api/v1/campaigns/{campaign_uuid}/logs"]
