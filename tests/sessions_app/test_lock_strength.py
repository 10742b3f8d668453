"""A message for a session commits while that session (or its workspace) is locked for a change.

Seen in bench/failover.py: an API send deadlocked against the new worker's start. The send's
insert checks its foreign keys at commit (Django's are deferred), taking FOR KEY SHARE on the
workspace, then on the session; the start's status change held the session FOR UPDATE and
wanted the workspace too. Changes that never touch a row's key lock it FOR NO KEY UPDATE, the
strength PostgreSQL's own UPDATE takes, which a foreign-key check does not wait for."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from messaging.models import Chat
from messaging.services.conversations import inbox_auto_assign_set
from sessions_app import services
from tests.factories import ContactFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _insert_message_while(change: Callable[[], None], session) -> None:
    """Runs ``change`` in a transaction another thread keeps open, and meanwhile commits a
    message of ``session``; fails (lock timeout) if the commit had to wait for ``change``."""
    contact = ContactFactory(workspace=session.workspace)
    changed, release = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                change()
                changed.set()
                release.wait(10)
        except BaseException as exc:  # reported in the test's own thread
            failure.append(exc)
            changed.set()
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert changed.wait(10) and not failure, failure
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            Chat.objects.create(
                workspace=session.workspace,
                whatsapp_session=session,
                contact=contact,
                direction=Chat.Direction.INBOUND,
                body="arrived meanwhile",
            )
    finally:
        release.set()
        holder.join()
    assert not failure, failure
    assert Chat.objects.filter(whatsapp_session=session, body="arrived meanwhile").count() == 1


def test_a_message_commits_while_its_session_changes_status():
    session = WhatsAppSessionFactory(status="starting")

    _insert_message_while(
        lambda: services.session_transition(session_pk=session.pk, to_status="qr_scanning"), session
    )


def test_a_message_commits_while_its_workspace_settings_change():
    session = WhatsAppSessionFactory(status="connected")

    _insert_message_while(lambda: inbox_auto_assign_set(workspace=session.workspace, enabled=True), session)
