"""Planning: turning a campaign's audience into CampaignLog rows with a number and a send time
(launch), and re-planning them when numbers drop (redistribution) or a campaign resumes or
falls behind (re-plan). Used by the services (start, resume) and the dispatch tick.

Preconditions everywhere: the caller holds the campaign row lock (services and the tick take
it with select_for_update), so two planners never rewrite one campaign's logs at once."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from campaigns import selectors
from campaigns.distribution import NoUsableNumber, distribute
from campaigns.errors import CampaignInvalid, NoSendingNumber
from campaigns.models import Campaign, CampaignLog
from campaigns.pacing import Pacing, plan_send_times
from messaging.models import Contact
from sessions_app.models import WhatsAppSession

CampaignStatus = Campaign.Status
LogStatus = CampaignLog.Status


def no_number_message(campaign: Campaign) -> str:
    if campaign.sessions.exists():
        return "None of the campaign's numbers is connected; connect one or choose others."
    return "No number of this workspace is connected; connect one first."


def campaign_launch(*, campaign: Campaign, now: datetime, rng: random.Random | None = None) -> int:
    """Creates one CampaignLog per recipient, assigns each a number (weighted round robin by
    remaining daily capacity, sticky numbers first) and a send time (the number's pacing plan),
    and marks the campaign running. Precondition: inside a transaction holding the campaign
    row lock, status `scheduled`. Returns the number of logs. Rows go in with COPY, so 100,000
    recipients take seconds."""
    rng = rng or random.Random()  # nosec B311 # send-time jitter, not security
    numbers = list(selectors.sending_numbers(campaign=campaign))
    if not numbers:
        raise NoSendingNumber(no_number_message(campaign))
    window = selectors.campaign_window(campaign)
    contacts = selectors.audience_contacts(workspace=campaign.workspace, audience=campaign.audience)
    recipients = list(contacts.order_by("id").values_list("id", flat=True))
    if not recipients:
        raise CampaignInvalid("The audience has no contacts.", field="audience")
    profiles = selectors.number_profiles(sessions=numbers, now=now, window=window, with_recent=True)
    try:
        assignment = distribute(
            recipients,
            selectors.number_weights(profiles),
            selectors.sticky_numbers(contacts=contacts, numbers=numbers),
        )
    except NoUsableNumber as exc:
        raise NoSendingNumber(str(exc)) from exc
    start = max(now, campaign.scheduled_at or now)
    by_number: dict[int, list[int]] = defaultdict(list)
    for contact_id in recipients:
        by_number[assignment[contact_id]].append(contact_id)
    pacing = Pacing.from_settings()
    rows: list[tuple[Any, ...]] = []
    for session_id, contact_ids in by_number.items():
        profile = profiles[session_id]
        times = plan_send_times(
            count=len(contact_ids),
            start=start,
            window=window,
            pacing=pacing,
            daily_cap=profile.daily_cap,
            rng=rng,
            sent_today=profile.activity.today,
            recent=profile.recent,
        )
        rows.extend(
            (campaign.pk, contact_id, session_id, LogStatus.PENDING, at, 0, "", now)
            for contact_id, at in zip(contact_ids, times, strict=True)
        )
    _copy_logs(rows)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.RUNNING,
        started_at=now,
        total_count=len(rows),
        sent_count=0,
        failed_count=0,
        skipped_count=0,
        last_error="",
        updated_at=now,
    )
    campaign.status, campaign.started_at, campaign.total_count = CampaignStatus.RUNNING, now, len(rows)
    return len(rows)


def _copy_logs(rows: Sequence[tuple[Any, ...]]) -> None:
    table = CampaignLog._meta.db_table
    columns = (
        "campaign_id, contact_id, whatsapp_session_id, status, scheduled_at, attempts, error, updated_at"
    )
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _set_assignments(rows: Sequence[tuple[int, int, datetime]]) -> int:
    """UPDATE pending logs' (number, scheduled_at) in bulk: rows of (log id, session id, at)."""
    table = CampaignLog._meta.db_table
    updated = 0
    for offset in range(0, len(rows), 20_000):
        chunk = rows[offset : offset + 20_000]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {table} AS log
                SET whatsapp_session_id = v.session_id, scheduled_at = v.at, updated_at = now()
                FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[]) AS v(id, session_id, at)
                WHERE log.id = v.id AND log.status = 'pending'
                """,  # noqa: S608 — table name from the model, values parametrised  # nosec B608
                [[r[0] for r in chunk], [r[1] for r in chunk], [r[2] for r in chunk]],
            )
            updated += cursor.rowcount
    return updated


def campaign_replan(
    *,
    campaign: Campaign,
    now: datetime,
    session_ids: Iterable[int] | None = None,
    rng: random.Random | None = None,
) -> int:
    """Gives the campaign's pending logs on these numbers (default: all its healthy numbers)
    fresh send times from `now`, in their current order, counting what each number really
    sent in the last hour and today. Precondition: the campaign row is locked."""
    rng = rng or random.Random()  # nosec B311 # send-time jitter, not security
    logs = CampaignLog.objects.filter(
        campaign=campaign, status=LogStatus.PENDING, whatsapp_session__isnull=False
    )
    if session_ids is not None:
        logs = logs.filter(whatsapp_session_id__in=list(session_ids))
    by_number: dict[int, list[int]] = defaultdict(list)
    for log_id, session_id in logs.order_by("whatsapp_session_id", "scheduled_at", "id").values_list(
        "id", "whatsapp_session_id"
    ):
        by_number[session_id].append(log_id)
    if not by_number:
        return 0
    sessions = list(WhatsAppSession.objects.filter(pk__in=list(by_number)))
    window = selectors.campaign_window(campaign)
    profiles = selectors.number_profiles(sessions=sessions, now=now, window=window, with_recent=True)
    pacing = Pacing.from_settings()
    rows: list[tuple[int, int, datetime]] = []
    for session_id, log_ids in by_number.items():
        profile = profiles[session_id]
        if not profile.healthy:
            continue  # redistribution moves these; planning them here would be wasted
        times = plan_send_times(
            count=len(log_ids),
            start=max(now, campaign.scheduled_at or now),
            window=window,
            pacing=pacing,
            daily_cap=profile.daily_cap,
            rng=rng,
            sent_today=profile.activity.today,
            recent=profile.recent,
        )
        rows.extend((log_id, session_id, at) for log_id, at in zip(log_ids, times, strict=True))
    return _set_assignments(rows)


def campaign_redistribute(*, campaign: Campaign, now: datetime, rng: random.Random | None = None) -> int:
    """Moves the pending logs of numbers that are no longer healthy (disconnected, deleted,
    inactive) to the campaign's healthy numbers, by the same weights and stickiness as the
    launch, then re-plans the receiving numbers. With no healthy number left, nothing moves
    (the logs wait). Precondition: the campaign row is locked. Returns how many moved."""
    healthy = list(selectors.sending_numbers(campaign=campaign))
    healthy_ids = {s.pk for s in healthy}
    stranded = list(
        CampaignLog.objects.filter(campaign=campaign, status=LogStatus.PENDING)
        .exclude(whatsapp_session_id__in=healthy_ids)
        .order_by("scheduled_at", "id")
        .values_list("id", "contact_id")
    )
    if not stranded or not healthy:
        return 0
    window = selectors.campaign_window(campaign)
    profiles = selectors.number_profiles(sessions=healthy, now=now, window=window)
    contact_ids = [contact_id for _, contact_id in stranded]
    sticky = selectors.sticky_numbers(contacts=Contact.objects.filter(pk__in=contact_ids), numbers=healthy)
    try:
        assignment = distribute(contact_ids, selectors.number_weights(profiles), sticky)
    except NoUsableNumber:
        return 0
    moved = _set_assignments([(log_id, assignment[contact_id], now) for log_id, contact_id in stranded])
    campaign_replan(campaign=campaign, now=now, session_ids=set(assignment.values()), rng=rng)
    return moved
