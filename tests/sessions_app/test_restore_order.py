"""Restores after a worker start and failover (issue 18): the numbers customers wrote to most
recently come back first, and a host starts only as many browsers at once as its cores and
free memory allow."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app import services
from sessions_app.webjs.host.capacity import start_concurrency
from tests.factories import WhatsAppSessionFactory, WorkerInstanceFactory


@pytest.mark.django_db
def test_it_restores_the_most_recently_active_numbers_first():
    worker = WorkerInstanceFactory(name="restore-order")
    now = timezone.now()
    quiet = WhatsAppSessionFactory(status="connected", assigned_worker=worker, last_activity_at=None)
    old = WhatsAppSessionFactory(
        status="connected", assigned_worker=worker, last_activity_at=now - timedelta(days=2)
    )
    busy = WhatsAppSessionFactory(status="connected", assigned_worker=worker, last_activity_at=now)
    assert services.sessions_to_restore(worker=worker) == [busy.pk, old.pk, quiet.pk]


def test_start_concurrency_follows_the_setting_when_set(settings):
    settings.BLAZZ_BROWSER_START_CONCURRENCY = 3
    assert start_concurrency() == 3


def test_start_concurrency_is_bounded_by_free_memory(settings):
    settings.BLAZZ_BROWSER_START_CONCURRENCY = 0
    settings.BLAZZ_BROWSER_START_MEMORY_MB = 10**9  # no host has a petabyte free
    assert start_concurrency() == 1
    settings.BLAZZ_BROWSER_START_MEMORY_MB = 1
    assert 1 <= start_concurrency() <= 8
