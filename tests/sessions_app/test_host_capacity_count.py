"""A session worker counts a number once against its capacity (issue 18): from the moment a
page is live until its start returns, the number is both live and starting, and counting it
twice refused a full worker's last failover start as "no capacity" (bench/failover.py)."""

from sessions_app.webjs.host.live import StartResult
from sessions_app.webjs.host.session_host import SessionHost


def test_a_number_live_and_still_starting_counts_once(tmp_path, monkeypatch):
    host = SessionHost(worker_name="cap-count", capacity=2, data_dir=tmp_path)
    host._live[1] = object()  # its page is up, its start has not returned yet
    host._starting.add(1)
    monkeypatch.setattr(host, "_start_reserved", lambda pk, *, reason: StartResult.STARTED)
    assert host._start_serialised(2, reason="failover") == StartResult.STARTED


def test_a_full_worker_still_refuses_one_more(tmp_path, monkeypatch):
    host = SessionHost(worker_name="cap-full", capacity=2, data_dir=tmp_path)
    host._live[1] = object()
    host._starting.add(2)
    monkeypatch.setattr(host, "_start_reserved", lambda pk, *, reason: StartResult.STARTED)
    assert host._start_serialised(3, reason="failover") == StartResult.AT_CAPACITY
