"""The campaigns dispatch tick (Beat, every second, queue `campaigns`). One tick:

1. launches scheduled campaigns whose start time has come;
2. follows the messages of `ongoing` logs: a sent chat makes the log a success; a failed one
   fails it, unless its number dropped, in which case the log moves to another healthy number
   (up to BLAZZ_CAMPAIGN_MAX_ATTEMPTS attempts). A message still pending on a number that
   dropped is withdrawn first (the same conditional claim a worker makes, so it is sent at
   most once) and moved the same way;
3. redistributes the pending logs of numbers that are no longer healthy;
4. claims due logs (`select_for_update(skip_locked=True)`), at most one per number per tick,
   checks each number's real activity against its pacing (gap, per minute, per hour, per
   day, window) and hands the message to `messaging.services.chat_send` with the idempotency
   key `campaign-log:<log id>:<attempt>`;
5. refreshes the counters of every campaign it touched, completes finished ones and
   publishes `campaign.progress`.

Every step is safe to run twice and concurrently with itself: rows move by conditional
updates or under row locks taken with SKIP LOCKED, and one number is dispatched by one tick
at a time (a transaction-scoped advisory lock per number).

Hand-offs, audited for a broker that loses messages (issue 16; tests in
tests/campaigns/test_dispatch_handoffs.py and test_recipient_import.py):
- the tick itself (Beat, every second, `expire_seconds` 5): safe to lose; it carries no
  data, every step reads its work from the tables, the next tick does it;
- a recipient handed to messaging: not a Celery-only hand-off. `_send` writes the Chat row
  (pending, idempotency key `campaign-log:<id>:<attempt>`) and marks the log `ongoing` in the
  same transaction; the send task is a wake-up. A lost one is woken again by messaging's
  sweep (`chats_sweep_pending`, Beat every 30 s); a send that cannot go by
  BLAZZ_SEND_DEADLINE_SECONDS fails, and step 2 then fails or moves the log. No log stays
  `ongoing` for ever;
- scheduled launches: the `scheduled_at` column, claimed here (step 1);
- long recipient lists: RecipientImport rows with their own Beat sweep
  (campaigns/recipient_imports.py);
- `campaign.progress` / `campaign.import` websocket events: safe to lose; counts are derived
  from the tables and pages re-read themselves on reconnect."""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from blazz.templating import TemplateError, render
from campaigns import planning, selectors, services
from campaigns.models import Campaign, CampaignLog
from campaigns.pacing import Pacing, send_blocked
from messaging.models import Chat
from messaging.services import (
    InvalidMessage,
    NoConnectedNumber,
    chat_claim_for_send,
    chat_mark_failed,
    chat_send,
)
from sessions_app.models import WhatsAppSession

logger = logging.getLogger(__name__)

CampaignStatus = Campaign.Status
LogStatus = CampaignLog.Status
# Namespace of the per-number advisory locks (ASCII "CAMP").
_NUMBER_LOCK_SPACE = 0x43414D50
_SENT = (Chat.Status.SENT, Chat.Status.DELIVERED, Chat.Status.READ)


@dataclass
class TickResult:
    launched: int = 0
    succeeded: int = 0
    failed: int = 0
    moved: int = 0
    redistributed: int = 0
    replanned: int = 0
    dispatched: int = 0
    blocked: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def campaigns_tick(*, now: datetime | None = None, rng: random.Random | None = None) -> TickResult:
    """One dispatch tick (see the module docstring). `now` and `rng` are injectable so tests
    drive the clock; production passes neither."""
    now = now or timezone.now()
    rng = rng or random.Random()  # nosec B311 # send-time jitter, not security
    result = TickResult()
    touched: set[int] = set()
    _launch_due(now=now, rng=rng, result=result, touched=touched)
    _follow_ongoing(now=now, rng=rng, result=result, touched=touched)
    _redistribute_stranded(now=now, rng=rng, result=result, touched=touched)
    _dispatch_due(now=now, rng=rng, result=result, touched=touched)
    if touched:
        with transaction.atomic():
            services.campaign_counters_refresh(campaign_ids=touched, now=now)
    return result


# --- 1. Scheduled starts ------------------------------------------------------------------------


def _launch_due(*, now: datetime, rng: random.Random, result: TickResult, touched: set[int]) -> None:
    due = list(
        Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
        .order_by("scheduled_at")
        .values_list("pk", flat=True)[:5]
    )
    for pk in due:
        try:
            with transaction.atomic():
                campaign = (
                    Campaign.objects.select_for_update(skip_locked=True)
                    .select_related("workspace")
                    .filter(pk=pk, status=CampaignStatus.SCHEDULED)
                    .first()
                )
                if campaign is None:
                    continue  # another tick is launching it
                services.campaign_check_recipients(campaign=campaign)
                planning.campaign_launch(campaign=campaign, now=now, rng=rng)
        except services.CampaignError as exc:
            services.campaign_launch_failed(
                campaign_pk=pk, error=f"Could not start at {now:%Y-%m-%d %H:%M} UTC: {exc}"
            )
            continue
        result.launched += 1
        touched.add(pk)


# --- 2. Following the messages of ongoing logs ----------------------------------------------------


def _follow_ongoing(*, now: datetime, rng: random.Random, result: TickResult, touched: set[int]) -> None:
    log_table, chat_table = CampaignLog._meta.db_table, Chat._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {log_table} AS log SET status = %s, updated_at = %s
            FROM {chat_table} AS chat
            WHERE log.chat_id = chat.id AND log.status = %s AND chat.status = ANY(%s)
            RETURNING log.campaign_id
            """,  # noqa: S608 — table names from the models, values parametrised  # nosec B608
            [LogStatus.SUCCESS, now, LogStatus.ONGOING, list(_SENT)],
        )
        done = [row[0] for row in cursor.fetchall()]
    result.succeeded += len(done)
    touched.update(done)

    number_down = (
        ~Q(chat__whatsapp_session__status=WhatsAppSession.Status.CONNECTED)
        | Q(chat__whatsapp_session__deleted_at__isnull=False)
        | Q(chat__whatsapp_session__is_active=False)
    )
    targets = _TargetPicker(now=now, rng=rng)
    with transaction.atomic():
        logs = list(
            CampaignLog.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=LogStatus.ONGOING)
            .filter(
                Q(chat__isnull=True)
                | Q(chat__status=Chat.Status.FAILED)
                | (Q(chat__status=Chat.Status.PENDING) & number_down)
            )
            .select_related("chat__whatsapp_session", "campaign__workspace", "whatsapp_session")
            .order_by("id")[: settings.BLAZZ_CAMPAIGN_DISPATCH_BATCH * 5]
        )
        for log in logs:
            chat = log.chat
            if chat is None:
                _give_up(log, reason="its message was deleted", now=now)
                result.failed += 1
            elif chat.status == Chat.Status.PENDING:
                claimed = chat_claim_for_send(chat_pk=chat.pk, session_pk=chat.whatsapp_session_id)
                if claimed is None:
                    continue  # a worker took it a moment ago: it is being sent
                chat_mark_failed(chat=claimed, error="the number disconnected before sending")
                _retry_or_fail(
                    log,
                    reason="the number disconnected before sending",
                    now=now,
                    targets=targets,
                    result=result,
                )
            elif selectors.session_is_healthy(chat.whatsapp_session):
                # WhatsApp refused this recipient on a working number: trying it from more
                # numbers would only put their reputation at risk (F12).
                _give_up(log, reason=chat.error or "WhatsApp refused the message", now=now)
                result.failed += 1
            else:
                _retry_or_fail(
                    log, reason=chat.error or "the number dropped", now=now, targets=targets, result=result
                )
            touched.add(log.campaign_id)


def _give_up(log: CampaignLog, *, reason: str, now: datetime) -> None:
    status = LogStatus.SKIPPED if log.campaign.status == CampaignStatus.CANCELLED else LogStatus.FAILED
    CampaignLog.objects.filter(pk=log.pk).update(status=status, error=reason[:2000], updated_at=now)


def _retry_or_fail(
    log: CampaignLog, *, reason: str, now: datetime, targets: _TargetPicker, result: TickResult
) -> None:
    """The send failed because its number dropped: another healthy number gets the log, until
    its attempts are used up."""
    number = str(log.whatsapp_session.phone_number or "") if log.whatsapp_session else ""
    campaign = log.campaign
    if campaign.status not in (CampaignStatus.RUNNING, CampaignStatus.PAUSED):
        _give_up(log, reason=reason, now=now)
        return
    if log.attempts >= settings.BLAZZ_CAMPAIGN_MAX_ATTEMPTS:
        _give_up(log, reason=f"{reason} (gave up after {log.attempts} attempts)", now=now)
        result.failed += 1
        return
    target = targets.pick(campaign, exclude=log.whatsapp_session_id)
    gap = timedelta(seconds=targets.rng.uniform(targets.pacing.gap_min, targets.pacing.gap_max))
    CampaignLog.objects.filter(pk=log.pk).update(
        status=LogStatus.PENDING,
        chat=None,
        # No healthy number now: it stays on its number and redistribution moves it later.
        whatsapp_session_id=target or log.whatsapp_session_id,
        scheduled_at=now + gap,
        error=f"attempt {log.attempts} via {number or 'a number'} failed: {reason}"[:2000],
        updated_at=now,
    )
    result.moved += 1


class _TargetPicker:
    """Chooses a healthy number for a retried log, weighted by remaining daily capacity; the
    numbers' profiles are read once per campaign per tick."""

    def __init__(self, *, now: datetime, rng: random.Random) -> None:
        self.now, self.rng = now, rng
        self.pacing = Pacing.from_settings()
        self._weights: dict[int, dict[int, int]] = {}

    def pick(self, campaign: Campaign, *, exclude: int | None) -> int | None:
        if campaign.pk not in self._weights:
            numbers = list(selectors.sending_numbers(campaign=campaign))
            profiles = selectors.number_profiles(
                sessions=numbers, now=self.now, window=selectors.campaign_window(campaign)
            )
            self._weights[campaign.pk] = selectors.number_weights(profiles)
        weights = {sid: w for sid, w in self._weights[campaign.pk].items() if sid != exclude and w > 0}
        if not weights:
            return None
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]


# --- 3. Numbers that dropped ----------------------------------------------------------------------


def _redistribute_stranded(
    *, now: datetime, rng: random.Random, result: TickResult, touched: set[int]
) -> None:
    running = Campaign.objects.filter(status=CampaignStatus.RUNNING)
    unhealthy = (
        WhatsAppSession.objects.filter(workspace_id__in=running.values("workspace_id"))
        .exclude(selectors.HEALTHY)
        .values("pk")
    )
    stranded = (
        CampaignLog.objects.filter(status=LogStatus.PENDING, campaign__status=CampaignStatus.RUNNING)
        .filter(Q(whatsapp_session__isnull=True) | Q(whatsapp_session_id__in=unhealthy))
        .order_by()
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    for campaign_id in list(stranded):
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update(skip_locked=True)
                .select_related("workspace")
                .filter(pk=campaign_id, status=CampaignStatus.RUNNING)
                .first()
            )
            if campaign is None:
                continue
            moved = planning.campaign_redistribute(campaign=campaign, now=now, rng=rng)
        if moved:
            result.redistributed += moved
            touched.add(campaign_id)


# --- 4. Due sends ---------------------------------------------------------------------------------


def _due_candidates(*, now: datetime, limit: int) -> list[tuple[int, int, int, datetime]]:
    """The earliest due pending log of each healthy number of the running campaigns:
    (log id, session id, campaign id, scheduled_at). Read without locks; claimed below."""
    log_table = CampaignLog._meta.db_table
    campaign_table = Campaign._meta.db_table
    session_table = WhatsAppSession._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT DISTINCT ON (log.whatsapp_session_id)
                   log.id, log.whatsapp_session_id, log.campaign_id, log.scheduled_at
            FROM {log_table} AS log
            JOIN {campaign_table} AS campaign ON campaign.id = log.campaign_id
            JOIN {session_table} AS number ON number.id = log.whatsapp_session_id
            WHERE log.status = 'pending' AND log.scheduled_at <= %s AND campaign.status = 'running'
              AND number.status = 'connected' AND number.deleted_at IS NULL
            ORDER BY log.whatsapp_session_id, log.scheduled_at, log.id
            LIMIT %s
            """,  # noqa: S608 — table names from the models, values parametrised  # nosec B608
            [now, limit],
        )
        return cursor.fetchall()


def _share_lock_running(campaign_ids: set[int]) -> set[int]:
    """FOR SHARE on the running campaigns among these: a pause or cancel (UPDATE of the row)
    waits until this tick commits, and no send starts after it returned."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Campaign._meta.db_table} WHERE id = ANY(%s) AND status = 'running' "  # noqa: S608 # nosec B608 # table name from the model, values parametrised
            "ORDER BY id FOR SHARE",
            [sorted(campaign_ids)],
        )
        return {row[0] for row in cursor.fetchall()}


def _lock_numbers(session_ids: set[int]) -> set[int]:
    """Transaction-scoped advisory locks: one tick at a time dispatches a given number, so
    two concurrent ticks cannot both find it idle and send twice within its gap."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM unnest(%s::bigint[]) AS id "
            "WHERE pg_try_advisory_xact_lock(%s, (id %% 2147483647)::int)",
            [sorted(session_ids), _NUMBER_LOCK_SPACE],
        )
        return {row[0] for row in cursor.fetchall()}


def _dispatch_due(*, now: datetime, rng: random.Random, result: TickResult, touched: set[int]) -> None:
    candidates = _due_candidates(now=now, limit=settings.BLAZZ_CAMPAIGN_DISPATCH_BATCH)
    if not candidates:
        return
    lag = timedelta(seconds=settings.BLAZZ_CAMPAIGN_REPLAN_LAG_SECONDS)
    # A number far behind its plan (a long block by a limit or the window, a slow worker):
    # its remaining sends get a fresh plan instead of a burst at the minimum gap.
    lagging = {(campaign_id, session_id) for _, session_id, campaign_id, at in candidates if at < now - lag}
    fresh = [c for c in candidates if (c[2], c[1]) not in lagging]
    if fresh:
        with transaction.atomic():
            running = _share_lock_running({c[2] for c in fresh})
            free = _lock_numbers({c[1] for c in fresh if c[2] in running})
            ids = [c[0] for c in fresh if c[2] in running and c[1] in free]
            logs = list(
                CampaignLog.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk__in=ids, status=LogStatus.PENDING, scheduled_at__lte=now)
                .select_related("campaign__workspace", "campaign__media_file", "contact", "whatsapp_session")
                .order_by("id")
            )
            by_campaign: dict[int, list[CampaignLog]] = defaultdict(list)
            for log in logs:
                by_campaign[log.campaign_id].append(log)
            pacing = Pacing.from_settings()
            for group in by_campaign.values():
                campaign = group[0].campaign
                window = selectors.campaign_window(campaign)
                profiles = selectors.number_profiles(
                    sessions=[log.whatsapp_session for log in group], now=now, window=window
                )
                for log in group:
                    profile = profiles[log.whatsapp_session_id]
                    if not profile.healthy:
                        continue
                    why = send_blocked(
                        now=now,
                        window=window,
                        pacing=pacing,
                        daily_cap=profile.daily_cap,
                        activity=profile.activity,
                    )
                    if why is not None:
                        result.blocked += 1
                        continue
                    _send(log, now=now, result=result)
                    touched.add(log.campaign_id)
    for campaign_id, session_id in lagging:
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update(skip_locked=True)
                .select_related("workspace")
                .filter(pk=campaign_id, status=CampaignStatus.RUNNING)
                .first()
            )
            if campaign is not None:
                result.replanned += planning.campaign_replan(
                    campaign=campaign, now=now, session_ids=[session_id], rng=rng
                )


def _send(log: CampaignLog, *, now: datetime, result: TickResult) -> None:
    """Hands one claimed log to messaging. Precondition: the log row is locked, pending."""
    campaign, contact = log.campaign, log.contact
    try:
        text = render(
            campaign.body, name=contact.name, phone=contact.phone_e164 or "", metadata=contact.metadata
        )
    except TemplateError as exc:
        _give_up(log, reason=str(exc), now=now)
        result.failed += 1
        return
    attempt = log.attempts + 1
    try:
        chat, _ = chat_send(
            workspace=campaign.workspace,
            to=contact.address,
            body=text,
            session=log.whatsapp_session,
            idempotency_key=f"campaign-log:{log.pk}:{attempt}",
            # The one file uploaded with the campaign, the same MediaFile row for everyone.
            media=services.campaign_media(campaign),
        )
    except NoConnectedNumber:
        return  # it dropped a moment ago: the next tick redistributes its logs
    except InvalidMessage as exc:
        _give_up(log, reason=str(exc), now=now)
        result.failed += 1
        return
    fields: dict[str, Any] = {
        "status": LogStatus.ONGOING,
        "chat": chat,
        "attempts": attempt,
        "dispatched_at": now,
        "updated_at": now,
    }
    CampaignLog.objects.filter(pk=log.pk).update(**fields)
    result.dispatched += 1
