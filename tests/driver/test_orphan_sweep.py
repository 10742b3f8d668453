"""A session worker's periodic sweep (F6, F8): a profile that belongs to no live session is
removed, and a browser still running on it is killed, while live sessions are left alone."""

from sessions_app.webjs.driver.processes import processes_mentioning
from sessions_app.webjs.host import SessionHost


def test_it_kills_browsers_and_removes_profiles_of_no_live_session(start_browser, data_dir):
    host = SessionHost(worker_name="sweeper", capacity=2, data_dir=data_dir)
    orphan = start_browser("orphan")  # e.g. a start that failed after Chrome was up
    stale_dir = host.profiles_dir / "left-by-a-stop"
    stale_dir.mkdir(parents=True)
    assert processes_mentioning(orphan.user_data_dir)

    removed = host.sweep_orphans()

    assert sorted(removed) == ["left-by-a-stop", "orphan"]
    assert not processes_mentioning(orphan.user_data_dir)
    assert not orphan.user_data_dir.exists() and not stale_dir.exists()


def test_it_waits_while_a_start_is_under_way(data_dir):
    host = SessionHost(worker_name="sweeper", capacity=2, data_dir=data_dir)
    (host.profiles_dir / "being-started").mkdir(parents=True)
    host._starting.add(1)

    assert host.sweep_orphans() == []
    assert (host.profiles_dir / "being-started").exists()
