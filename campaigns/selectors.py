"""Reads for campaigns: the workspace's campaigns, audiences, the numbers a campaign may send
from (health, age, daily capacity, what they sent recently) and progress. Every function that
serves a request takes the workspace and scopes through `accounts.tenancy`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from accounts.models import Workspace
from accounts.tenancy import get_scoped_or_404, scoped
from blazz.templating import TemplateError, render
from campaigns.models import Campaign, CampaignLog, RecipientImport
from campaigns.pacing import HOUR, MINUTE, DailyCaps, NumberActivity, Window, daily_capacity, zone
from messaging.models import Chat, Contact, ContactSession
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import CONNECTED_NUMBER, number_is_connected

Status = CampaignLog.Status


def campaigns_of_workspace(*, workspace: Workspace) -> QuerySet[Campaign]:
    return scoped(Campaign, workspace).order_by("-created_at", "-id")


def campaign_get_or_404(*, workspace: Workspace, campaign_uuid: UUID | str) -> Campaign:
    return get_scoped_or_404(Campaign.objects.select_related("workspace"), workspace, uuid=campaign_uuid)


def campaign_window(campaign: Campaign) -> Window:
    return Window(campaign.window_start_hour, campaign.window_end_hour, zone(campaign.workspace.timezone))


def campaign_latest_import(*, campaign: Campaign) -> RecipientImport | None:
    """The campaign's most recent background recipient import (its progress, or how it ended)."""
    return RecipientImport.objects.filter(campaign=campaign).order_by("-created_at", "-id").first()


# --- Audience -----------------------------------------------------------------------------------


def audience_contacts(*, workspace: Workspace, audience: dict[str, Any]) -> QuerySet[Contact]:
    """The contacts an (already cleaned) audience names, in the workspace only:
    `{"kind": "all"}`, `{"kind": "list", "contacts": [uuid, ...]}` or
    `{"kind": "filter", "metadata": {...}}` (`{"tags": ["vip"]}` matches a contact tagged
    "vip", every tag listed; other keys by JSON containment: `{"city": "Recife"}` an exact
    value)."""
    contacts = scoped(Contact, workspace)
    kind = (audience or {}).get("kind", "all")
    if kind == "list":
        return contacts.filter(uuid__in=audience.get("contacts") or [])
    if kind == "filter":
        wanted = dict(audience.get("metadata") or {})
        tags = wanted.pop("tags", None)
        if tags:
            contacts = contacts.filter(tags__contains=tags)
        return contacts.filter(metadata__contains=wanted) if wanted else contacts
    return contacts


# --- Numbers ------------------------------------------------------------------------------------

HEALTHY = CONNECTED_NUMBER
session_is_healthy = number_is_connected


def sending_numbers(*, campaign: Campaign) -> QuerySet[WhatsAppSession]:
    """The healthy numbers the campaign may send from now: the ones it names, or every
    connected number of the workspace when it names none."""
    chosen = list(campaign.sessions.values_list("pk", flat=True)) if campaign.pk else []
    numbers = scoped(WhatsAppSession, campaign.workspace_id).filter(HEALTHY)
    if chosen:
        numbers = numbers.filter(pk__in=chosen)
    return numbers.order_by("id")


@dataclass
class NumberProfile:
    session_id: int
    phone: str
    healthy: bool
    first_connected_at: datetime
    daily_cap: int
    activity: NumberActivity
    recent: list[datetime] = field(default_factory=list)

    @property
    def remaining_today(self) -> int:
        return max(0, self.daily_cap - self.activity.today)


def number_first_connections(*, sessions: Sequence[WhatsAppSession]) -> dict[int, datetime]:
    """When each number's phone first connected to its workspace. A phone re-linked after a
    logout gets a new session row but keeps its age, so this is the earliest `created_at` of
    the workspace's sessions of that phone that ever connected (`last_connected_at` is not the
    age: it moves at every reconnect). A session with no phone yet counts from its creation."""
    phones = {(s.workspace_id, str(s.phone_number)) for s in sessions if s.phone_number}
    firsts: dict[tuple[int, str], datetime] = {}
    if phones:
        rows = (
            WhatsAppSession.objects.filter(
                workspace_id__in={ws for ws, _ in phones},
                phone_number__in={phone for _, phone in phones},
                last_connected_at__isnull=False,
            )
            .values("workspace_id", "phone_number")
            .annotate(first=Min("created_at"))
        )
        firsts = {(row["workspace_id"], str(row["phone_number"])): row["first"] for row in rows}
    result = {}
    for session in sessions:
        first = firsts.get((session.workspace_id, str(session.phone_number)), session.created_at)
        result[session.pk] = min(first, session.created_at)
    return result


def number_activity(
    *, session_ids: Iterable[int], now: datetime, day_start: datetime, with_recent: bool = False
) -> tuple[dict[int, NumberActivity], dict[int, list[datetime]]]:
    """What each number really sent (every outbound message: campaigns, inbox, API): its
    last send, sends in the last minute, hour and since `day_start`; with `with_recent`, the
    times of the last hour's sends too (planning counts them against the hourly limit)."""
    ids = list(session_ids)
    if not ids:
        return {}, {}
    since = min(day_start, now - HOUR)
    outbound = Chat.objects.filter(
        whatsapp_session_id__in=ids, direction=Chat.Direction.OUTBOUND, created_at__gte=since
    )
    rows = outbound.values("whatsapp_session_id").annotate(
        last=Max("created_at"),
        minute=Count("id", filter=Q(created_at__gt=now - MINUTE)),
        hour=Count("id", filter=Q(created_at__gt=now - HOUR)),
        today=Count("id", filter=Q(created_at__gte=day_start)),
    )
    activity = {
        row["whatsapp_session_id"]: NumberActivity(
            last_send=row["last"], last_minute=row["minute"], last_hour=row["hour"], today=row["today"]
        )
        for row in rows
    }
    recent: dict[int, list[datetime]] = defaultdict(list)
    if with_recent:
        for session_id, at in outbound.filter(created_at__gt=now - HOUR).values_list(
            "whatsapp_session_id", "created_at"
        ):
            recent[session_id].append(at)
    return {sid: activity.get(sid, NumberActivity()) for sid in ids}, dict(recent)


def number_profiles(
    *,
    sessions: Sequence[WhatsAppSession],
    now: datetime,
    window: Window,
    caps: DailyCaps | None = None,
    with_recent: bool = False,
) -> dict[int, NumberProfile]:
    """Health, age, daily capacity and recent activity of each number (3 queries at most)."""
    caps = caps or DailyCaps.from_settings()
    firsts = number_first_connections(sessions=sessions)
    activity, recent = number_activity(
        session_ids=[s.pk for s in sessions],
        now=now,
        day_start=window.day_start(now),
        with_recent=with_recent,
    )
    return {
        s.pk: NumberProfile(
            session_id=s.pk,
            phone=str(s.phone_number or s.session_id),
            healthy=session_is_healthy(s),
            first_connected_at=firsts[s.pk],
            daily_cap=daily_capacity(now - firsts[s.pk], caps),
            activity=activity[s.pk],
            recent=recent.get(s.pk, []),
        )
        for s in sessions
    }


def number_weights(profiles: dict[int, NumberProfile]) -> dict[int, int]:
    """Distribution weights: each healthy number's remaining daily capacity; unhealthy ones 0.
    When every healthy number has used up today, their full capacities (tomorrow's share)."""
    weights = {sid: p.remaining_today if p.healthy else 0 for sid, p in profiles.items()}
    if not any(weights.values()):
        weights = {sid: p.daily_cap if p.healthy else 0 for sid, p in profiles.items()}
    return weights


def sticky_numbers(*, contacts: QuerySet[Contact], numbers: Sequence[WhatsAppSession]) -> dict[int, int]:
    """contact id → the number (of `numbers`) it last talked to. Matched by phone, so a
    conversation held through an older session of the same phone still counts."""
    by_phone = {str(n.phone_number): n.pk for n in numbers if n.phone_number}
    if not by_phone:
        return {}
    links = (
        ContactSession.objects.filter(
            contact__in=contacts.values("pk"),
            whatsapp_session__workspace_id=numbers[0].workspace_id,
            whatsapp_session__phone_number__in=list(by_phone),
        )
        .order_by("contact_id", "-last_interaction_at")
        .distinct("contact_id")
        .values_list("contact_id", "whatsapp_session__phone_number")
    )
    return {contact_id: by_phone[str(phone)] for contact_id, phone in links}


# --- Progress -----------------------------------------------------------------------------------


@dataclass
class Progress:
    total: int = 0
    pending: int = 0
    ongoing: int = 0
    success: int = 0
    failed: int = 0
    skipped: int = 0
    # The same counts per number (its session's uuid), so a live page's per-number table
    # moves in the same event as the totals and the two never disagree.
    by_number: dict[str, Progress] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return self.success + self.failed + self.skipped

    @property
    def percent(self) -> float:
        return round(100.0 * self.done / self.total, 1) if self.total else 0.0


def campaign_counts(*, campaign_ids: Iterable[int]) -> dict[int, Progress]:
    """Logs per status for each campaign, and per number within it, in one query."""
    ids = list(campaign_ids)
    result = {pk: Progress() for pk in ids}
    rows = (
        CampaignLog.objects.filter(campaign_id__in=ids)
        .order_by()
        .values("campaign_id", "whatsapp_session__uuid", "status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        progress = result[row["campaign_id"]]
        number = row["whatsapp_session__uuid"]
        counted = [progress]
        if number is not None:
            counted.append(progress.by_number.setdefault(str(number), Progress()))
        for share in counted:
            setattr(share, row["status"], getattr(share, row["status"]) + row["n"])
            share.total += row["n"]
    return result


def progress_payload(campaign: Campaign, progress: Progress) -> dict[str, Any]:
    """What the `campaign.progress` live event and the API's progress carry."""
    percent = progress.percent
    if campaign.status == Campaign.Status.COMPLETED and not progress.total:
        percent = 100.0
    return {
        "uuid": str(campaign.uuid),
        "status": campaign.status,
        "total": progress.total,
        "pending": progress.pending,
        "ongoing": progress.ongoing,
        "success": progress.success,
        "failed": progress.failed,
        "skipped": progress.skipped,
        "done": progress.done,
        "percent": percent,
        "by_number": {
            number: {
                "total": share.total,
                "success": share.success,
                "failed": share.failed,
                "waiting": share.pending + share.ongoing,
            }
            for number, share in progress.by_number.items()
        },
    }


@dataclass
class NumberShare:
    session_uuid: UUID | None
    phone: str
    status: str
    total: int
    pending: int
    ongoing: int
    success: int
    failed: int
    skipped: int
    sent_last_10_min: int
    daily_cap: int | None = None
    sent_today: int | None = None

    @property
    def per_minute(self) -> float:
        return round(self.sent_last_10_min / 10.0, 1)


def campaign_distribution(*, campaign: Campaign, now: datetime | None = None) -> list[NumberShare]:
    """Per number: recipients assigned, by status, and throughput (sends in the last 10
    minutes), with the number's daily capacity and what it sent today."""
    now = now or timezone.now()
    rows = (
        CampaignLog.objects.filter(campaign=campaign)
        .order_by()
        .values("whatsapp_session_id")
        .annotate(
            total=Count("id"),
            pending=Count("id", filter=Q(status=Status.PENDING)),
            ongoing=Count("id", filter=Q(status=Status.ONGOING)),
            success=Count("id", filter=Q(status=Status.SUCCESS)),
            failed=Count("id", filter=Q(status=Status.FAILED)),
            skipped=Count("id", filter=Q(status=Status.SKIPPED)),
            recent=Count("id", filter=Q(dispatched_at__gt=now - timedelta(minutes=10))),
        )
    )
    sessions = {
        s.pk: s
        for s in WhatsAppSession.objects.filter(
            pk__in=[r["whatsapp_session_id"] for r in rows if r["whatsapp_session_id"]]
        )
    }
    profiles = number_profiles(sessions=list(sessions.values()), now=now, window=campaign_window(campaign))
    shares = []
    for row in rows:
        session = sessions.get(row["whatsapp_session_id"])
        profile = profiles.get(session.pk) if session else None
        shares.append(
            NumberShare(
                session_uuid=session.uuid if session else None,
                phone=str(session.phone_number or session.session_id) if session else "(deleted number)",
                status=session.status if session else "deleted",
                total=row["total"],
                pending=row["pending"],
                ongoing=row["ongoing"],
                success=row["success"],
                failed=row["failed"],
                skipped=row["skipped"],
                sent_last_10_min=row["recent"],
                daily_cap=profile.daily_cap if profile else None,
                sent_today=profile.activity.today if profile else None,
            )
        )
    shares.sort(key=lambda share: (-share.total, share.phone))
    return shares


def campaign_logs(*, campaign: Campaign, status: str | None = None) -> QuerySet[CampaignLog]:
    logs = CampaignLog.objects.filter(campaign=campaign).select_related("contact", "whatsapp_session")
    if status:
        logs = logs.filter(status=status)
    return logs.order_by("id")


def campaign_failed_logs(*, campaign: Campaign, limit: int = 100) -> list[CampaignLog]:
    return list(campaign_logs(campaign=campaign, status=Status.FAILED).order_by("-updated_at", "-id")[:limit])


# --- Before starting ------------------------------------------------------------------------------

PREVIEW_SIZE = 3


@dataclass(frozen=True)
class StartPreview:
    """What starting the campaign now would do (issue 19: Start had no confirmation)."""

    recipients: int
    numbers: int
    daily_capacity: int  # messages a day over the sending numbers, by their age
    remaining_today: int
    days: int | None  # sending days needed at that pace; None when no number can send
    samples: list[tuple[Contact, str | None, str | None]]  # contact, text, or why it cannot be made


def campaign_start_preview(*, campaign: Campaign, now: datetime | None = None) -> StartPreview:
    now = now or timezone.now()
    contacts = audience_contacts(workspace=campaign.workspace, audience=campaign.audience)
    recipients = contacts.count()
    numbers = list(sending_numbers(campaign=campaign))
    profiles = number_profiles(sessions=numbers, now=now, window=campaign_window(campaign)).values()
    capacity = sum(p.daily_cap for p in profiles)
    remaining = sum(p.remaining_today for p in profiles)
    days = None
    if capacity:
        left = max(0, recipients - remaining)
        days = 1 + -(-left // capacity) if left else 1
    samples = []
    for contact in contacts.order_by("id")[:PREVIEW_SIZE]:
        try:
            text = render(
                campaign.body, name=contact.name, phone=contact.phone_e164 or "", metadata=contact.metadata
            )
            samples.append((contact, text, None))
        except TemplateError as exc:
            samples.append((contact, None, str(exc)))
    return StartPreview(recipients, len(numbers), capacity, remaining, days, samples)
