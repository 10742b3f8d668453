"""Per-number pacing (F12): how fast one WhatsApp number may send, and when. Pure functions:
every clock reading is a `now`/`start` argument and every random draw comes from the `rng`
passed in, so tests drive them with a fixed clock and a seeded generator.

Two layers use them:
- `plan_send_times` gives each number's recipients their `scheduled_at` when a campaign is
  launched (or re-planned): random 3-7 s gaps, at most N per minute and per hour, the daily
  capacity by number age, only inside the workspace's local send window.
- `send_blocked` is the dispatcher's last check against what the number *really* sent (its
  outbound messages, inbox replies and other campaigns included) just before a send."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)

# Number age boundaries (days) for the daily capacity tiers.
NEW_NUMBER_DAYS = 7
YOUNG_NUMBER_DAYS = 30


@dataclass(frozen=True)
class Pacing:
    per_minute: int = 20
    per_hour: int = 500
    gap_min: float = 3.0
    gap_max: float = 7.0

    @classmethod
    def from_settings(cls) -> Pacing:
        from django.conf import settings

        return cls(
            per_minute=settings.BLAZZ_CAMPAIGN_PER_MINUTE,
            per_hour=settings.BLAZZ_CAMPAIGN_PER_HOUR,
            gap_min=settings.BLAZZ_CAMPAIGN_GAP_MIN_SECONDS,
            gap_max=settings.BLAZZ_CAMPAIGN_GAP_MAX_SECONDS,
        )


@dataclass(frozen=True)
class DailyCaps:
    """Sends per day by number age: under 7 days, 7-30 days, over 30 days."""

    new: int = 500
    young: int = 1500
    mature: int = 3000

    @classmethod
    def from_settings(cls) -> DailyCaps:
        from django.conf import settings

        return cls(
            new=settings.BLAZZ_CAMPAIGN_DAILY_CAP_NEW,
            young=settings.BLAZZ_CAMPAIGN_DAILY_CAP_YOUNG,
            mature=settings.BLAZZ_CAMPAIGN_DAILY_CAP_MATURE,
        )


def daily_capacity(age: timedelta, caps: DailyCaps) -> int:
    """A number's daily capacity by its age (time since its first connection)."""
    days = age.total_seconds() / 86400
    if days < NEW_NUMBER_DAYS:
        return caps.new
    if days <= YOUNG_NUMBER_DAYS:
        return caps.young
    return caps.mature


def zone(name: str) -> ZoneInfo:
    """The workspace's time zone; an unknown name falls back to UTC rather than stopping sends."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Window:
    """The daily send window in local time: [start_hour, end_hour), end 24 = midnight."""

    start_hour: int
    end_hour: int
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if not (0 <= self.start_hour < self.end_hour <= 24):
            raise ValueError("The send window must start before it ends, between 0 and 24 h.")

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.tz)

    def local_date(self, at: datetime) -> date:
        return self.local(at).date()

    def contains(self, at: datetime) -> bool:
        clock = self.local(at).time()
        return clock >= time(self.start_hour) and (self.end_hour == 24 or clock < time(self.end_hour))

    def _opening(self, day: date) -> datetime:
        # Through UTC so a wall-clock time skipped by a DST change still maps to a real instant.
        return datetime.combine(day, time(self.start_hour), tzinfo=self.tz).astimezone(UTC)

    def next_open(self, at: datetime) -> datetime:
        """`at` itself when inside the window, else the next moment the window opens."""
        if self.contains(at):
            return at
        local = self.local(at)
        if local.time() < time(self.start_hour):
            return self._opening(local.date())
        return self._opening(local.date() + timedelta(days=1))

    def next_day_open(self, at: datetime) -> datetime:
        """When the window opens on the local day after `at`'s."""
        return self._opening(self.local_date(at) + timedelta(days=1))

    def day_start(self, at: datetime) -> datetime:
        """Local midnight of `at`'s day: daily capacity is counted per local calendar day."""
        return datetime.combine(self.local_date(at), time(0), tzinfo=self.tz).astimezone(UTC)


def plan_send_times(
    *,
    count: int,
    start: datetime,
    window: Window,
    pacing: Pacing,
    daily_cap: int,
    rng: random.Random,
    sent_today: int = 0,
    recent: Iterable[datetime] = (),
) -> list[datetime]:
    """`count` send times for one number, ascending, from `start` on. Guarantees: every time
    is inside `window`; two consecutive times are at least `gap_min` apart and, unless a limit
    or the window made the number wait, at most `gap_max`; no 60 s span holds more than
    `per_minute` sends nor any 3600 s span more than `per_hour` (counting `recent`, the
    number's real sends of the last hour); no local day more than `daily_cap` (counting
    `sent_today` on `start`'s day). The first send waits a random part of a gap, so numbers
    planned at the same instant do not fire in lockstep."""
    if count <= 0:
        return []
    if daily_cap <= 0:
        raise ValueError("A number with no daily capacity cannot be planned.")
    history = sorted(t for t in recent if t > start - HOUR)
    in_minute: deque[datetime] = deque(t for t in history if t > start - MINUTE)
    in_hour: deque[datetime] = deque(history)
    day = window.local_date(start)
    day_count = sent_today
    t = start + timedelta(seconds=rng.uniform(0, pacing.gap_max))
    if history:
        t = max(t, history[-1] + timedelta(seconds=rng.uniform(pacing.gap_min, pacing.gap_max)))
    times: list[datetime] = []
    for _ in range(count):
        while True:
            if not window.contains(t):
                t = window.next_open(t) + timedelta(seconds=rng.uniform(0, pacing.gap_max))
                continue
            today = window.local_date(t)
            if today != day:
                day, day_count = today, 0
            if day_count >= daily_cap:
                t = window.next_day_open(t) + timedelta(seconds=rng.uniform(0, pacing.gap_max))
                continue
            while in_minute and in_minute[0] <= t - MINUTE:
                in_minute.popleft()
            # Waiting for a limit: resume right after the oldest send leaves the span, so the
            # sends keep the gaps of the ones they replace (no burst, no long pause).
            if len(in_minute) >= pacing.per_minute:
                t = in_minute[0] + MINUTE + timedelta(seconds=rng.uniform(0, 0.5))
                continue
            while in_hour and in_hour[0] <= t - HOUR:
                in_hour.popleft()
            if len(in_hour) >= pacing.per_hour:
                t = in_hour[0] + HOUR + timedelta(seconds=rng.uniform(0, 0.5))
                continue
            break
        times.append(t)
        in_minute.append(t)
        in_hour.append(t)
        day_count += 1
        t = t + timedelta(seconds=rng.uniform(pacing.gap_min, pacing.gap_max))
    return times


@dataclass(frozen=True)
class NumberActivity:
    """What a number really sent recently (all outbound messages, not only this campaign's)."""

    last_send: datetime | None = None
    last_minute: int = 0
    last_hour: int = 0
    today: int = 0


def send_blocked(
    *, now: datetime, window: Window, pacing: Pacing, daily_cap: int, activity: NumberActivity
) -> str | None:
    """Why the number may not send at `now`, or None when it may."""
    if not window.contains(now):
        return "outside the send window"
    if activity.last_send is not None and (now - activity.last_send).total_seconds() < pacing.gap_min:
        return "too soon after the number's previous send"
    if activity.last_minute >= pacing.per_minute:
        return "per-minute limit reached"
    if activity.last_hour >= pacing.per_hour:
        return "per-hour limit reached"
    if activity.today >= daily_cap:
        return "daily capacity reached"
    return None
