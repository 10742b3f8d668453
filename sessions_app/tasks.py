"""Tasks run by the session worker that hosts the session's browser (queue `wa.<name>`).
Thin: load by id, call the SessionHost. Safe to run twice (the host's verbs are idempotent)."""

from __future__ import annotations

from celery import shared_task

from sessions_app import services
from sessions_app.webjs.host import SendOutcome, StartResult
from sessions_app.webjs.worker import current_host


@shared_task(name="sessions_app.tasks.session_start")
def session_start(*, session_pk: int) -> str:
    host = current_host()
    result = host.start(session_pk, reason="start")
    if result == StartResult.NOT_OWNER:
        services.session_reroute(action="session_start", session_pk=session_pk, from_queue=host.queue)
    elif result == StartResult.AT_CAPACITY:
        services.session_move_off_full_worker(session_pk=session_pk, worker=host.worker)
    return result


@shared_task(name="sessions_app.tasks.session_stop")
def session_stop(*, session_pk: int, reason: str = "stop", snapshot: bool = True) -> bool:
    host = current_host()
    stopped = host.stop(session_pk, reason=reason, snapshot=snapshot)
    if not stopped:
        services.session_reroute(
            action="session_stop",
            session_pk=session_pk,
            from_queue=host.queue,
            reason=reason,
            snapshot=snapshot,
        )
    return stopped


@shared_task(name="sessions_app.tasks.session_restart")
def session_restart(*, session_pk: int, reason: str = "requested") -> str:
    host = current_host()
    result = host.restart(session_pk, reason=reason)
    if result == StartResult.NOT_OWNER:
        services.session_reroute(
            action="session_restart", session_pk=session_pk, from_queue=host.queue, reason=reason
        )
    return result


@shared_task(name="sessions_app.tasks.session_logout")
def session_logout(*, session_pk: int) -> None:
    current_host().logout(session_pk)


@shared_task(name="sessions_app.tasks.session_link_code")
def session_link_code(*, session_pk: int, phone_number: str) -> str | None:
    return current_host().request_link_code(session_pk, phone_number)


@shared_task(name="sessions_app.tasks.session_send")
def session_send(*, session_pk: int, chat_pk: int) -> str:
    host = current_host()
    outcome = host.send_chat(session_pk, chat_pk)
    if outcome == SendOutcome.NOT_HERE:
        # The number moved to another worker (or its page is restarting): the message
        # follows it instead of being dropped (F10).
        services.session_reroute(
            action="session_send", session_pk=session_pk, from_queue=host.queue, chat_pk=chat_pk
        )
    return outcome


@shared_task(name="sessions_app.tasks.sessions_cleanup_stale")
def sessions_cleanup_stale() -> dict[str, int]:
    """Every 10 min from Beat (queue `maintenance`): stale `qr_scanning` and
    `disconnected` sessions are stopped and soft-deleted (F6). Safe to run concurrently."""
    result = services.sessions_cleanup_stale()
    return {"qr_scanning": result.qr_scanning, "disconnected": result.disconnected}


@shared_task(name="sessions_app.tasks.session_probe")
def session_probe(*, session_pk: int) -> str:
    """On the session's worker: check its page and restart or give it up (F7)."""
    return current_host().probe(session_pk)


@shared_task(name="sessions_app.tasks.session_snapshot")
def session_snapshot(*, session_pk: int) -> bool:
    return current_host().snapshot_now(session_pk)


@shared_task(name="sessions_app.tasks.sessions_reconcile")
def sessions_reconcile() -> dict:
    """Every 30 s from Beat (queue `maintenance`): dead workers' sessions move to live ones
    (F9, F10). A concurrent second run returns at once (advisory lock)."""
    return services.sessions_reconcile().as_dict()


@shared_task(name="sessions_app.tasks.sessions_liveness_check")
def sessions_liveness_check() -> int:
    """Every 30 s from Beat: asks each connected session's worker to check its page (F7)."""
    pks = services.sessions_to_probe()
    for pk in pks:
        services.enqueue_on_session_worker("session_probe", pk)
    for pk in services.sessions_stuck_restoring():
        outcome = services.session_restore_timed_out(session_pk=pk)
        if outcome == services.LivenessOutcome.RESTART:
            services.enqueue_on_session_worker("session_restart", pk, reason="liveness: restore timed out")
        elif outcome == services.LivenessOutcome.FAILED:
            services.enqueue_on_session_worker(
                "session_stop", pk, reason="liveness: given up", snapshot=False
            )
    return len(pks)


@shared_task(name="sessions_app.tasks.sessions_snapshot_refresh")
def sessions_snapshot_refresh() -> int:
    """Every 10 min from Beat: connected sessions whose snapshot is older than
    BLAZZ_SNAPSHOT_INTERVAL_SECONDS (or missing) are snapshotted by their worker."""
    pks = services.sessions_with_stale_snapshots()
    for pk in pks:
        services.enqueue_on_session_worker("session_snapshot", pk)
    return len(pks)
