"""What the phone and the machine do to a connected number: pairing by code, a logout from
the phone, a browser that dies under the session."""

import psutil
import pytest

from sessions_app import services
from sessions_app.models import SessionSnapshot, WhatsAppSession, WorkerInstance
from tests.e2e.test_connect_number import connect, status_of
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def worker(start_worker):
    worker = start_worker("wa_life")
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_life").exists(), what="worker", log=worker.log)
    return worker


def browser_main_process(session):
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] in ("chromium", "chrome") and not any(a.startswith("--type=") for a in cmdline):
            if any(session.session_id in part for part in cmdline):
                return proc
    return None


def test_it_pairs_a_number_by_code(sim, worker):
    session = services.session_create(workspace=WorkspaceFactory())
    wait_until(lambda: status_of(session) == "qr_scanning", timeout=60, what="QR screen", log=worker.log)
    services.session_request_link_code(
        session=WhatsAppSession.objects.get(pk=session.pk), phone_number="+5511987650055"
    )
    code = wait_until(
        lambda: WhatsAppSession.objects.get(pk=session.pk).metadata.get("link_code", {}).get("code"),
        timeout=30,
        what="a pairing code",
        log=worker.log,
    )
    assert len(code.replace("-", "")) == 8
    sim.ok("POST", "/link-code", {"phone": "+5511987650055", "code": code})
    wait_until(lambda: status_of(session) == "connected", timeout=30, what="connected", log=worker.log)
    assert str(WhatsAppSession.objects.get(pk=session.pk).phone_number) == "+5511987650055"


def test_it_disconnects_and_drops_the_snapshot_when_the_phone_logs_out(sim, worker):
    session = connect(sim, worker, WorkspaceFactory(), "+5511987650056")
    wait_until(
        lambda: SessionSnapshot.objects.filter(session=session).exists(),
        timeout=30,
        what="snapshot",
        log=worker.log,
    )
    sim.ok("POST", "/phones/+5511987650056/logout")
    wait_until(lambda: status_of(session) == "disconnected", timeout=30, what="disconnected", log=worker.log)
    assert not SessionSnapshot.objects.filter(session=session).exists()
    wait_until(
        lambda: browser_main_process(session) is None, timeout=15, what="browser closed", log=worker.log
    )


def test_it_restarts_a_session_whose_browser_died_from_its_snapshot(sim, worker):
    session = connect(sim, worker, WorkspaceFactory(), "+5511987650057")
    wait_until(
        lambda: SessionSnapshot.objects.filter(session=session).exists(),
        timeout=30,
        what="snapshot",
        log=worker.log,
    )
    browser = browser_main_process(session)
    assert browser is not None
    browser.kill()

    wait_until(
        lambda: session.events.filter(kind="status_change", detail__to="connected").count() == 2,
        timeout=60,
        what="connected again",
        log=worker.log,
    )
    session.refresh_from_db()
    assert session.events.filter(kind="restart", detail__auto=True).count() == 1
    # Each start says where its time went (bench/connect.py and bench/failover.py read this).
    restored = session.events.filter(kind="restart", detail__has_key="seconds").latest("at")
    assert set(restored.detail["seconds"]) == {"slot_wait", "profile", "browser", "page"}
    assert all(spent >= 0 for spent in restored.detail["seconds"].values())
    assert restored.detail["seconds"]["browser"] > 0
    page_steps = restored.detail["page_seconds"]
    assert set(page_steps) == {"scripts", "load", "wpp"}
    assert sum(page_steps.values()) <= restored.detail["seconds"]["page"]
    assert (
        session.events.filter(kind="status_change", detail__to="qr_scanning").count() == 1
    )  # the first QR only
    assert session.status == "connected"
