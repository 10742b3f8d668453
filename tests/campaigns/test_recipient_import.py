"""A long recipient list is imported in the background (issue 16: a 5,000-phone list was one
12-second request in one transaction): the request records a RecipientImport row and answers;
the `campaigns` queue imports it in batches, with progress in the API and the page; a lost
Celery message is recovered by the Beat sweep; running it twice duplicates nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone

from campaigns import recipient_imports, services
from campaigns.models import Campaign, CampaignLog, RecipientImport
from messaging.models import Contact
from tests.campaigns.conftest import connected_number, make_contacts
from tests.conftest import logged_in_client

PHONES = [f"+1415{2000000 + i:07d}" for i in range(5000)]


@pytest.fixture(autouse=True)
def quiet_campaigns_queue():
    """Nothing consumes the `campaigns` queue in these tests (they run the task's function
    as a worker would); forget what they queued."""
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    yield broker
    broker.delete("campaigns")


def queued_imports(broker) -> int:
    return sum(b"recipient_import_run" in raw for raw in broker.lrange("campaigns", 0, -1))


def test_it_answers_a_5000_phone_list_before_importing_it_then_imports_it_once(
    alice_api, workspace_a, quiet_campaigns_queue, django_capture_on_commit_callbacks
):
    known = make_contacts(workspace_a, 3)
    with django_capture_on_commit_callbacks(execute=True):
        answer = alice_api.post(
            "/api/v1/campaigns",
            {
                "name": "Black Friday",
                "body": "Hi {{name|there}}",
                "audience": {"kind": "list", "phones": PHONES, "contacts": [str(c.uuid) for c in known[:2]]},
            },
            format="json",
        )
    assert answer.status_code == 201, answer.content
    job_view = answer.json()["recipient_import"]
    # The request only recorded the work: nothing imported yet, and a worker was woken.
    assert job_view["status"] == "pending" and job_view["processed"] == 0 and job_view["total"] == 5000
    assert Contact.objects.filter(workspace=workspace_a).count() == 3
    assert queued_imports(quiet_campaigns_queue) >= 1
    campaign = Campaign.objects.get(uuid=answer.json()["uuid"])
    job = RecipientImport.objects.get(campaign=campaign)

    # Not startable before the import completes.
    connected_number(workspace_a)
    refused = alice_api.post(f"/api/v1/campaigns/{campaign.uuid}/start")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "recipients_importing"

    # One batch, as a worker that then died would leave it.
    assert recipient_imports.recipient_import_run(import_pk=job.pk, max_batches=1) == 1
    job.refresh_from_db()
    assert (job.status, job.processed) == ("running", django_settings.BLAZZ_RECIPIENT_IMPORT_BATCH)
    progress = alice_api.get(f"/api/v1/campaigns/{campaign.uuid}").json()["recipient_import"]
    assert progress["processed"] == job.processed and 0 < progress["percent"] < 100

    # The rest, then the same message delivered again: nothing is imported twice.
    recipient_imports.recipient_import_run(import_pk=job.pk)
    recipient_imports.recipient_import_run(import_pk=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed, job.error_count) == ("completed", 5000, 0)
    assert Contact.objects.filter(workspace=workspace_a).count() == 5003
    campaign.refresh_from_db()
    assert "import" not in campaign.audience
    assert len(campaign.audience["contacts"]) == len(set(campaign.audience["contacts"])) == 5002

    started = alice_api.post(f"/api/v1/campaigns/{campaign.uuid}/start")
    assert started.status_code == 200, started.content
    logs = CampaignLog.objects.filter(campaign=campaign)
    assert logs.count() == 5002
    assert logs.values("contact_id").distinct().count() == 5002


def test_it_recovers_an_import_whose_message_was_lost(workspace_a, quiet_campaigns_queue):
    campaign, _ = services.campaign_create(
        workspace=workspace_a, name="Lost", body="Hi", audience={"kind": "list", "phones": PHONES[:1200]}
    )
    job = RecipientImport.objects.get(campaign=campaign)
    quiet_campaigns_queue.delete("campaigns")  # the broker lost its data
    # Nothing yet: it is young.
    assert recipient_imports.recipient_imports_sweep() == []
    RecipientImport.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert recipient_imports.recipient_imports_sweep() == [job.pk]
    assert queued_imports(quiet_campaigns_queue) == 1
    recipient_imports.recipient_import_run(import_pk=job.pk)
    job.refresh_from_db()
    assert job.status == "completed"
    assert recipient_imports.recipient_imports_sweep(now=timezone.now() + timedelta(hours=1)) == []


def test_it_counts_and_shows_refused_phones_and_keeps_the_rest(workspace_a, settings):
    settings.BLAZZ_RECIPIENT_IMPORT_SYNC_MAX = 2
    campaign, _ = services.campaign_create(
        workspace=workspace_a,
        name="Mixed",
        body="Hi",
        audience={"kind": "list", "phones": ["+14155550100", "not a phone", "+14155550101", "+14155550100"]},
    )
    job = RecipientImport.objects.get(campaign=campaign)
    recipient_imports.recipient_import_run(import_pk=job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_count) == ("completed", 1)
    assert job.errors[0]["phone"] == "not a phone"
    campaign.refresh_from_db()
    assert len(campaign.audience["contacts"]) == 2


def test_it_stops_an_import_whose_audience_was_replaced(workspace_a, settings):
    settings.BLAZZ_RECIPIENT_IMPORT_SYNC_MAX = 2
    campaign, _ = services.campaign_create(
        workspace=workspace_a, name="Edited", body="Hi", audience={"kind": "list", "phones": PHONES[:10]}
    )
    job = RecipientImport.objects.get(campaign=campaign)
    services.campaign_update(campaign=campaign, audience={"kind": "all"})
    recipient_imports.recipient_import_run(import_pk=job.pk)
    job.refresh_from_db()
    assert job.status == "superseded"
    assert Contact.objects.filter(workspace=workspace_a).count() == 0
    campaign.refresh_from_db()
    assert campaign.audience == {"kind": "all"}


def test_it_shows_the_import_progress_on_the_campaign_page(alice, workspace_a, settings):
    settings.BLAZZ_RECIPIENT_IMPORT_SYNC_MAX = 2
    settings.BLAZZ_RECIPIENT_IMPORT_BATCH = 4
    client = logged_in_client(alice, workspace_a)
    answer = client.post(
        "/campaigns/new",
        {
            "name": "From the form",
            "body": "Hi",
            "audience_kind": "list",
            "audience_phones": "\n".join(PHONES[:10]),
            "window_start_hour": 6,
            "window_end_hour": 22,
        },
    )
    assert answer.status_code == 302
    campaign = Campaign.objects.get(name="From the form")
    page = client.get(f"/campaigns/{campaign.uuid}/").content.decode()
    assert 'data-testid="recipient-import"' in page and 'import-processed">0</span> of 10' in page
    job = RecipientImport.objects.get(campaign=campaign)
    recipient_imports.recipient_import_run(import_pk=job.pk, max_batches=1)
    assert 'import-processed">4</span> of 10' in client.get(f"/campaigns/{campaign.uuid}/").content.decode()
    recipient_imports.recipient_import_run(import_pk=job.pk)
    page = client.get(f"/campaigns/{campaign.uuid}/").content.decode()
    assert "10 phones imported" in page


def test_it_keeps_the_phones_being_imported_in_the_edit_form(alice, workspace_a, settings):
    settings.BLAZZ_RECIPIENT_IMPORT_SYNC_MAX = 2
    campaign, _ = services.campaign_create(
        workspace=workspace_a, name="Edit me", body="Hi", audience={"kind": "list", "phones": PHONES[:5]}
    )
    page = logged_in_client(alice, workspace_a).get(f"/campaigns/{campaign.uuid}/edit").content.decode()
    assert all(phone in page for phone in PHONES[:5])
