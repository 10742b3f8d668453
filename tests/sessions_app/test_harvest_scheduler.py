"""The worker's harvest scheduler (issue 18): wake-ups of a burst become one drain per page,
a page is never drained by two threads at once, a busy page is drained again a moment later,
and a slow page does not hold up the others."""

import threading
import time

from sessions_app.webjs.host.harvest import HarvestScheduler


def _scheduler(harvest, *, pool_size=4, batch_window_s=0.01):
    return HarvestScheduler(pool_size=pool_size, batch_window_s=batch_window_s, harvest=harvest)


def test_it_turns_a_burst_of_wakeups_into_one_drain_per_page():
    scheduler = _scheduler(lambda pk: None)
    for _ in range(50):
        scheduler.wake(1)
        scheduler.wake(2)
    assert scheduler.wait(1.0) == {1, 2}
    assert scheduler.wait(0.05) == set()
    scheduler.shutdown()


def test_it_returns_at_the_timeout_when_no_page_woke():
    scheduler = _scheduler(lambda pk: None)
    began = time.monotonic()
    assert scheduler.wait(0.1) == set()
    assert 0.09 <= time.monotonic() - began < 1.0
    scheduler.shutdown()


def test_it_never_drains_one_page_twice_at_once_and_drains_it_again_after():
    running, overlaps, runs = set(), [], []
    lock = threading.Lock()
    release = threading.Event()

    def harvest(pk):
        with lock:
            if pk in running:
                overlaps.append(pk)
            running.add(pk)
            runs.append(pk)
        release.wait(2)
        with lock:
            running.discard(pk)

    scheduler = _scheduler(harvest)
    scheduler.submit({7})
    time.sleep(0.05)
    scheduler.submit({7})  # woken again while its first drain runs
    release.set()
    again = scheduler.wait(2.0)
    assert again == {7}
    scheduler.submit(again)
    time.sleep(0.1)
    scheduler.shutdown()
    assert overlaps == []
    assert runs == [7, 7]


def test_a_slow_page_does_not_hold_up_the_others():
    slow_started, done = threading.Event(), []

    def harvest(pk):
        if pk == 1:
            slow_started.set()
            time.sleep(0.5)
        done.append((pk, time.monotonic()))

    scheduler = _scheduler(harvest, pool_size=2)
    began = time.monotonic()
    scheduler.submit([1])
    slow_started.wait(1)
    scheduler.submit([2, 3])
    time.sleep(0.2)
    fast = {pk: at - began for pk, at in done if pk != 1}
    assert set(fast) == {2, 3} and max(fast.values()) < 0.4
    scheduler.shutdown()


def test_a_busy_page_is_woken_again_after_the_delay():
    scheduler = _scheduler(lambda pk: None, batch_window_s=0)
    scheduler.wake_later(5, 0.05)
    assert scheduler.wait(0.01) == set()
    assert scheduler.wait(1.0) == {5}
    scheduler.shutdown()


def test_it_remembers_a_pages_first_wakeup_until_its_drain_takes_it():
    scheduler = _scheduler(lambda pk: None)
    before = time.time()
    scheduler.wake(3)
    first = scheduler.take_woken_at(3)
    time.sleep(0.02)
    scheduler.wake(3)
    scheduler.wake(3)
    second = scheduler.take_woken_at(3)
    assert before <= first < second
    assert scheduler.take_woken_at(3) is None  # taken: nothing woke it since
    scheduler.shutdown()
