"""Distribution over numbers: weighted round robin by remaining daily capacity (number age),
sticky numbers first. The pure function is called directly; the launch is checked on the
database with numbers of the ages the issue names."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.distribution import NoUsableNumber, apportion, distribute, interleave
from campaigns.models import CampaignLog
from campaigns.pacing import DailyCaps, daily_capacity
from messaging.models import ContactSession
from tests.campaigns.conftest import connected_number, make_contacts
from tests.factories import CampaignFactory, ChatFactory, ContactFactory, WorkspaceFactory

CAPS = DailyCaps(new=500, young=1500, mature=3000)


def test_it_gives_numbers_their_capacity_by_age():
    assert daily_capacity(timedelta(days=3), CAPS) == 500
    assert daily_capacity(timedelta(days=6, hours=23), CAPS) == 500
    assert daily_capacity(timedelta(days=7), CAPS) == 1500
    assert daily_capacity(timedelta(days=15), CAPS) == 1500
    assert daily_capacity(timedelta(days=30), CAPS) == 1500
    assert daily_capacity(timedelta(days=31), CAPS) == 3000
    assert daily_capacity(timedelta(days=60), CAPS) == 3000


def test_it_apportions_exactly_and_spreads_each_number_through_the_order():
    assert apportion(10, {1: 1, 2: 1, 3: 1}) == {1: 4, 2: 3, 3: 3}
    assert sum(apportion(1001, {1: 500, 2: 1500, 3: 3000}).values()) == 1001
    order = interleave({1: 2, 2: 6})
    assert Counter(order) == {1: 2, 2: 6}
    assert order[0] == 2 and 1 in order[:4] and 1 in order[4:]  # not bunched at one end


def test_it_splits_1000_recipients_500_1500_3000_within_2_percent():
    weights = {1: 500, 2: 1500, 3: 3000}
    assignment = distribute(list(range(1000)), weights)
    shares = Counter(assignment.values())
    for number, weight in weights.items():
        assert abs(shares[number] / 1000 - weight / 5000) <= 0.02


def test_it_honours_sticky_numbers_and_keeps_the_proportions():
    weights = {1: 500, 2: 1500, 3: 3000}
    sticky = {r: 1 for r in range(40)} | {r: 2 for r in range(40, 60)} | {999: 42}
    assignment = distribute(list(range(1000)), weights, sticky)
    assert all(assignment[r] == 1 for r in range(40))
    assert all(assignment[r] == 2 for r in range(40, 60))
    assert assignment[999] in weights  # sticky to a number that cannot send: distributed
    shares = Counter(assignment.values())
    for number, weight in weights.items():
        assert abs(shares[number] / 1000 - weight / 5000) <= 0.02


def test_it_gives_unhealthy_numbers_nothing_and_refuses_when_none_can_send():
    assignment = distribute(list(range(100)), {1: 0, 2: 1500}, {5: 1})
    assert set(assignment.values()) == {2}
    with pytest.raises(NoUsableNumber):
        distribute([1, 2], {1: 0, 2: 0})


@pytest.mark.django_db
def test_it_launches_1000_recipients_over_numbers_aged_3_15_and_60_days():
    workspace = WorkspaceFactory(timezone="UTC")
    now = timezone.now()
    # Age counts from the phone's first connection (the session's creation), not the last one.
    numbers = [connected_number(workspace, age_days=days) for days in (3, 15, 60)]
    contacts = make_contacts(workspace, 1000)
    # 30 contacts talked to the youngest number before: they stay with it.
    for contact in contacts[:30]:
        ContactSession.objects.create(
            contact=contact, whatsapp_session=numbers[0], first_interaction_at=now, last_interaction_at=now
        )
    campaign = CampaignFactory(
        workspace=workspace, body="Hi {{name}}", window_start_hour=0, window_end_hour=24
    )

    services.campaign_start(campaign=campaign, now=now)

    logs = CampaignLog.objects.filter(campaign=campaign)
    assert logs.count() == 1000
    shares = Counter(logs.values_list("whatsapp_session_id", flat=True))
    for session, weight in zip(numbers, (500, 1500, 3000), strict=True):
        assert abs(shares[session.pk] / 1000 - weight / 5000) <= 0.02, shares
    sticky = set(logs.filter(contact__in=contacts[:30]).values_list("whatsapp_session_id", flat=True))
    assert sticky == {numbers[0].pk}
    campaign.refresh_from_db()
    assert campaign.status == "running" and campaign.total_count == 1000


@pytest.mark.django_db
def test_it_weighs_numbers_by_what_is_left_of_their_day():
    workspace = WorkspaceFactory(timezone="UTC")
    now = timezone.now()
    fresh = connected_number(workspace, age_days=1)
    busy = connected_number(workspace, age_days=1)
    down = connected_number(workspace, age_days=1, status="disconnected")
    # Both new (500/day); `busy` already sent 400 today, so it has 100 left against 500.
    someone = ContactFactory(workspace=workspace)
    ChatFactory.create_batch(
        400, workspace=workspace, whatsapp_session=busy, contact=someone, direction="outbound"
    )
    make_contacts(workspace, 599)
    campaign = CampaignFactory(workspace=workspace, window_start_hour=0, window_end_hour=24)
    campaign.sessions.set([fresh, busy, down])

    services.campaign_start(campaign=campaign, now=now)

    shares = Counter(
        CampaignLog.objects.filter(campaign=campaign).values_list("whatsapp_session_id", flat=True)
    )
    assert shares[down.pk] == 0
    assert shares[fresh.pk] == 500 and shares[busy.pk] == 100
