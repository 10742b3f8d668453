"""Tasks run by the session worker that hosts the session's browser (queue `wa.<name>`).
Thin: load by id, call the SessionHost. Safe to run twice (the host's verbs are idempotent)."""

from __future__ import annotations

from celery import shared_task

from sessions_app import services
from sessions_app.host import StartResult
from sessions_app.worker import current_host


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
    if outcome == "not_here":
        # The number moved to another worker (or its page is restarting): the message
        # follows it instead of being dropped (F10).
        services.session_reroute(
            action="session_send", session_pk=session_pk, from_queue=host.queue, chat_pk=chat_pk
        )
    return outcome
