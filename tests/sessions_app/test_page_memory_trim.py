"""Each page's garbage is collected every BLAZZ_PAGE_MEMORY_TRIM_SECONDS, the first time at a
random point of that interval so pages restored together are not collected together, and
never by waiting on a page (issue 18: memory growth under load at fifty numbers). The
collection itself, on a real page, is tests/simulator/test_page_memory_trim.py."""

from __future__ import annotations

import pytest

from sessions_app.webjs.host.live import LiveSession
from sessions_app.webjs.host.memory import GARBAGE_COLLECTION, first_memory_trim_due
from sessions_app.webjs.host.session_host import SessionHost


class RecordingChannel:
    """Stands in for a page's DevTools connection: records what it was asked to send."""

    def __init__(self, *, open_: bool = True) -> None:
        self.open = open_
        self.sent: list[str] = []

    def command_nowait(self, method: str, params=None) -> bool:
        if not self.open:
            return False
        self.sent.append(method)
        return True


def _page(host: SessionHost, pk: int, *, due_at: float, channel: RecordingChannel | None) -> LiveSession:
    live = LiveSession(pk, f"s{pk}", browser=None, bridge=None, push=channel, memory_trim_due_at=due_at)
    host._live[pk] = live
    return live


@pytest.fixture
def host(tmp_path, settings):
    settings.BLAZZ_PAGE_MEMORY_TRIM_SECONDS = 300
    return SessionHost(worker_name="trim", capacity=4, data_dir=tmp_path)


def test_it_collects_the_pages_that_are_due_and_schedules_their_next_one(host):
    due = _page(host, 1, due_at=100.0, channel=RecordingChannel())
    later = _page(host, 2, due_at=500.0, channel=RecordingChannel())

    assert host.pages_memory_trim(now=200.0) == 1

    assert due.push.sent == [GARBAGE_COLLECTION] and due.memory_trims == 1
    assert due.memory_trim_due_at == 500.0
    assert later.push.sent == [] and later.memory_trim_due_at == 500.0
    assert host.pages_memory_trim(now=499.0) == 0
    assert host.pages_memory_trim(now=500.0) == 2


def test_a_page_without_a_usable_connection_is_skipped_and_tried_next_interval(host):
    no_channel = _page(host, 1, due_at=0.0, channel=None)
    closed = _page(host, 2, due_at=0.0, channel=RecordingChannel(open_=False))

    assert host.pages_memory_trim(now=10.0) == 0
    assert no_channel.memory_trim_due_at == closed.memory_trim_due_at == 310.0
    assert no_channel.memory_trims == closed.memory_trims == 0


def test_zero_turns_it_off(host, settings):
    settings.BLAZZ_PAGE_MEMORY_TRIM_SECONDS = 0
    page = _page(host, 1, due_at=0.0, channel=RecordingChannel())
    assert host.pages_memory_trim(now=10.0) == 0
    assert page.push.sent == []


def test_pages_started_together_are_spread_over_the_interval(settings):
    settings.BLAZZ_PAGE_MEMORY_TRIM_SECONDS = 300
    firsts = [first_memory_trim_due(now=1000.0) for _ in range(50)]
    assert all(1000.0 <= due <= 1300.0 for due in firsts)
    # Fifty uniform draws all in one sixth of the interval: about 1 in 10^38.
    assert max(firsts) - min(firsts) > 50
