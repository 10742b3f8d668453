"""Tasks run by the session worker that hosts the session's browser (queue `wa.<name>`).
Thin: load by id, call the SessionHost. Safe to run twice (the host's verbs are idempotent)."""

from __future__ import annotations

from celery import shared_task

from sessions_app import services
from sessions_app.webjs.host import SendOutcome, StartResult
from sessions_app.webjs.worker import current_host


@shared_task(name="sessions_app.tasks.session_start")
def session_start(*, session_pk: int) -> str:
    """Lost message: the session stays `starting` on its worker, which does not host it, so
    its lease is not renewed and reconciliation starts it again (sessions_needing_a_worker)."""
    host = current_host()
    result = host.start(session_pk, reason="start")
    if result == StartResult.NOT_OWNER:
        services.session_reroute(action="session_start", session_pk=session_pk, from_queue=host.queue)
    elif result == StartResult.AT_CAPACITY:
        services.session_move_off_full_worker(session_pk=session_pk, worker=host.worker)
    return result


# Stop, restart and logout asked by a user (`requested=True`) are rows: the session's
# pending_verb, cleared here once carried out and re-sent by reconciliation if this message
# is lost. One whose verb was replaced meanwhile (a stop after a restart) does nothing.
# Internal ones (delete, stale cleanup, liveness, reassignment) are safe to lose: the
# worker's heartbeat closes browsers of sessions that are deleted or no longer active, and a
# session nobody hosts is restarted by reconciliation when its lease runs out.


@shared_task(name="sessions_app.tasks.session_stop")
def session_stop(
    *, session_pk: int, reason: str = "stop", snapshot: bool = True, requested: bool = False
) -> bool:
    verb = services.Verb.STOP
    if requested and not services.session_verb_pending(session_pk=session_pk, verb=verb):
        return False
    host = current_host()
    stopped = host.stop(session_pk, reason=reason, snapshot=snapshot)
    if not stopped and services.session_reroute(
        action="session_stop",
        session_pk=session_pk,
        from_queue=host.queue,
        reason=reason,
        snapshot=snapshot,
        requested=requested,
    ):
        return False
    if requested:
        services.session_verb_done(session_pk=session_pk, verb=verb)
    return stopped


@shared_task(name="sessions_app.tasks.session_restart")
def session_restart(*, session_pk: int, reason: str = "requested", requested: bool = False) -> str:
    verb = services.Verb.RESTART
    if requested and not services.session_verb_pending(session_pk=session_pk, verb=verb):
        return "superseded"
    host = current_host()
    result = host.restart(session_pk, reason=reason)
    if result == StartResult.NOT_OWNER and services.session_reroute(
        action="session_restart",
        session_pk=session_pk,
        from_queue=host.queue,
        reason=reason,
        requested=requested,
    ):
        return result
    if requested:
        services.session_verb_done(session_pk=session_pk, verb=verb)
    return result


@shared_task(name="sessions_app.tasks.session_logout")
def session_logout(*, session_pk: int, reason: str = "logout", requested: bool = False) -> None:
    verb = services.Verb.LOGOUT
    if requested and not services.session_verb_pending(session_pk=session_pk, verb=verb):
        return
    current_host().logout(session_pk)
    if requested:
        services.session_verb_done(session_pk=session_pk, verb=verb)


@shared_task(name="sessions_app.tasks.session_link_code")
def session_link_code(*, session_pk: int, phone_number: str) -> str | None:
    """Safe to lose: the admin sees no code and asks again."""
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
    """On the session's worker: check its page and restart or give it up (F7). Safe to
    lose: Beat asks again every 30 s."""
    return current_host().probe(session_pk)


@shared_task(name="sessions_app.tasks.session_snapshot")
def session_snapshot(*, session_pk: int) -> bool:
    """Safe to lose: the worker's own timer snapshots too, and Beat asks again for every
    snapshot still stale at its next refresh."""
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
