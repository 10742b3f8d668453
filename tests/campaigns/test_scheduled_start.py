"""A campaign with a start time waits as `scheduled`; the Beat tick (installed by a data
migration, routed to the `campaigns` queue) launches it when the time comes, or sends it back
to draft with the reason when it cannot start."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from blazz.celery import app
from campaigns import services
from campaigns.dispatch import campaigns_tick
from campaigns.models import CampaignLog
from sessions_app.models import WhatsAppSession
from tests.campaigns.conftest import connected_number, make_contacts
from tests.factories import CampaignFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_it_launches_a_scheduled_campaign_at_its_start_time():
    workspace = WorkspaceFactory()
    connected_number(workspace)
    make_contacts(workspace, 3)
    start = timezone.now() + timedelta(hours=2)
    campaign = CampaignFactory(
        workspace=workspace, scheduled_at=start, window_start_hour=0, window_end_hour=24
    )

    assert services.campaign_start(campaign=campaign).status == "scheduled"
    assert not CampaignLog.objects.exists()
    assert campaigns_tick(now=start - timedelta(seconds=1)).launched == 0

    assert campaigns_tick(now=start).launched == 1
    campaign.refresh_from_db()
    assert campaign.status == "running" and campaign.total_count == 3
    assert all(log.scheduled_at >= start for log in CampaignLog.objects.all())


def test_a_scheduled_start_that_cannot_happen_returns_to_draft_with_the_reason():
    workspace = WorkspaceFactory()
    number = connected_number(workspace)
    make_contacts(workspace, 3)
    start = timezone.now() + timedelta(hours=1)
    campaign = CampaignFactory(workspace=workspace, scheduled_at=start)
    services.campaign_start(campaign=campaign)
    WhatsAppSession.objects.filter(pk=number.pk).update(status="disconnected")

    campaigns_tick(now=start)

    campaign.refresh_from_db()
    assert campaign.status == "draft"
    assert "Could not start" in campaign.last_error and "connected" in campaign.last_error


def test_beat_runs_the_tick_every_second_on_the_campaigns_queue():
    app.loader.import_default_modules()  # what a worker does at start (autodiscovery)
    task = PeriodicTask.objects.get(name="campaigns dispatch tick")
    assert task.task == "campaigns.tasks.campaigns_tick" and task.enabled
    assert (task.interval.every, task.interval.period) == (1, "seconds")
    assert task.task in app.tasks
    route = app.amqp.router.route({}, task.task)
    assert route["queue"].name == "campaigns"
    assert "campaigns" in settings.GENERAL_QUEUES


@pytest.mark.parametrize(
    ("setting", "value", "error_id"),
    [
        ("BLAZZ_CAMPAIGN_GAP_MIN_SECONDS", 9.0, "campaigns.E002"),
        ("BLAZZ_CAMPAIGN_PER_MINUTE", 0, "campaigns.E001"),
        ("BLAZZ_CAMPAIGN_DAILY_CAP_NEW", 0, "campaigns.E001"),
    ],
)
def test_it_reports_impossible_pacing_settings_as_check_errors(settings, setting, value, error_id):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    setattr(settings, setting, value)
    with pytest.raises(SystemCheckError, match=error_id):
        call_command("check")
