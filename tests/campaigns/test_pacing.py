"""Pacing with a controlled clock: the planner and the dispatcher's guard are pure functions
of `now`/`start` and a seeded random generator, so no test waits for real time."""

import itertools
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from campaigns.pacing import NumberActivity, Pacing, Window, plan_send_times, send_blocked

PACING = Pacing(per_minute=20, per_hour=500, gap_min=3, gap_max=7)
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
# 05:00 in São Paulo, an hour before the default window opens.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def plan(count, *, window=None, cap=3000, seed=1, **kwargs):
    return plan_send_times(
        count=count,
        start=kwargs.pop("start", START),
        window=window or Window(6, 22, SAO_PAULO),
        pacing=kwargs.pop("pacing", PACING),
        daily_cap=cap,
        rng=random.Random(seed),
        **kwargs,
    )


def max_in_span(times, span):
    most, first = 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - span:
            first += 1
        most = max(most, last - first + 1)
    return most


def may_send_at(at, times, window, cap, pacing=PACING):
    """Whether a send at `at` would have been within every limit, given earlier `times`."""
    earlier = [t for t in times if t < at]
    day = window.local_date(at)
    return (
        window.contains(at)
        and sum(1 for t in earlier if t > at - timedelta(minutes=1)) < pacing.per_minute
        and sum(1 for t in earlier if t > at - timedelta(hours=1)) < pacing.per_hour
        and sum(1 for t in earlier if window.local_date(t) == day) < cap
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_it_never_exceeds_20_per_minute_or_500_per_hour_and_keeps_3_to_7_s_gaps(seed):
    window = Window(6, 22, SAO_PAULO)
    times = plan(3000, window=window, seed=seed)

    assert times == sorted(times)
    assert max_in_span(times, timedelta(minutes=1)) <= 20
    assert max_in_span(times, timedelta(hours=1)) <= 500
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 3
    for index, gap in enumerate(gaps):
        if gap > 7:
            # A longer gap only when a limit or the window made the number wait.
            previous, before = times[index], times[: index + 1]
            assert not may_send_at(previous + timedelta(seconds=3), before, window, 3000) or not (
                window.contains(previous + timedelta(seconds=7))
            )
    assert sum(3 <= g <= 7 for g in gaps) / len(gaps) > 0.99


def test_it_sends_only_inside_the_local_window_and_within_the_daily_cap():
    window = Window(6, 22, SAO_PAULO)
    times = plan(1200, window=window, cap=500)

    assert all(window.contains(t) for t in times)
    local_hours = {t.astimezone(SAO_PAULO).hour for t in times}
    assert min(local_hours) >= 6 and max(local_hours) <= 21
    per_day = {}
    for t in times:
        per_day[window.local_date(t)] = per_day.get(window.local_date(t), 0) + 1
    assert sorted(per_day.values()) == [200, 500, 500]  # three local days
    # The window opens at 06:00 local: the first send is in its first few seconds.
    assert times[0].astimezone(SAO_PAULO).replace(tzinfo=None) < datetime(2026, 3, 2, 6, 0, 8)


def test_it_counts_the_numbers_own_recent_sends():
    window = Window(0, 24, UTC)
    start = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    recent = [start - timedelta(seconds=3 * i + 1) for i in range(20)]  # 20 in the last minute
    times = plan(5, window=window, start=start, recent=recent)
    assert times[0] >= recent[-1] + timedelta(minutes=1)

    times = plan(5, window=window, start=start, cap=500, sent_today=498)
    assert len([t for t in times if window.local_date(t) == start.date()]) == 2


def test_it_desynchronises_numbers_planned_at_the_same_instant():
    window = Window(0, 24, UTC)
    first = plan(50, window=window, seed=10)
    second = plan(50, window=window, seed=11)
    assert first[0] != second[0]
    assert not set(first) & set(second)


def test_it_handles_a_window_ending_at_midnight_and_a_dst_change():
    window = Window(20, 24, ZoneInfo("Europe/Berlin"))
    # Berlin moves its clocks forward on 2026-03-29.
    times = plan(2000, window=window, cap=500, start=datetime(2026, 3, 27, 10, 0, tzinfo=UTC))
    assert all(window.contains(t) for t in times)
    assert max_in_span(times, timedelta(hours=1)) <= 500


def test_the_dispatch_guard_refuses_a_send_that_breaks_a_limit():
    window = Window(6, 22, SAO_PAULO)
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 12:00 local

    def blocked(**activity):
        return send_blocked(
            now=now, window=window, pacing=PACING, daily_cap=500, activity=NumberActivity(**activity)
        )

    assert blocked() is None
    assert blocked(last_send=now - timedelta(seconds=10), last_minute=5, last_hour=100, today=100) is None
    assert "too soon" in blocked(last_send=now - timedelta(seconds=2))
    assert "per-minute" in blocked(last_minute=20)
    assert "per-hour" in blocked(last_hour=500)
    assert "daily" in blocked(today=500)
    assert "window" in send_blocked(
        now=datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
        window=window,
        pacing=PACING,
        daily_cap=500,
        activity=NumberActivity(),
    )


def test_it_refuses_an_empty_window():
    with pytest.raises(ValueError):
        Window(10, 10, UTC)
