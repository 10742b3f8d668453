"""Helpers for the campaign tests: connected numbers of a given age and contacts in bulk."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Contact
from sessions_app.models import WhatsAppSession
from tests.factories import WhatsAppSessionFactory

_numbers = itertools.count(1)


def connected_number(workspace, *, age_days: float = 60, status: str = "connected") -> WhatsAppSession:
    """A number that first connected `age_days` ago (its session's created_at)."""
    now = timezone.now()
    session = WhatsAppSessionFactory(
        workspace=workspace,
        status=status,
        phone_number=f"+55119870{next(_numbers):05d}",
        last_connected_at=now,
    )
    WhatsAppSession.objects.filter(pk=session.pk).update(created_at=now - timedelta(days=age_days))
    session.refresh_from_db()
    return session


def make_contacts(workspace, count: int, *, start: int = 0, **fields) -> list[Contact]:
    Contact.objects.bulk_create(
        [
            Contact(
                **{
                    "workspace": workspace,
                    "phone": f"+1415555{start + i:04d}",
                    "name": f"Person {start + i}",
                    **fields,
                }
            )
            for i in range(count)
        ]
    )
    return list(Contact.objects.filter(workspace=workspace).order_by("id"))


@pytest.fixture
def number():
    return connected_number
