"""One idempotency mechanism for every create (numbers, messages, campaigns, webhook
endpoints): the client's key is a column of the created row, unique per workspace where set,
of one length. A retry finds the row by its key; a concurrent duplicate hits the constraint."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

IDEMPOTENCY_KEY_MAX_LENGTH = 200


def idempotency_key_field() -> models.CharField:
    return models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH, null=True, blank=True)


def idempotency_key_unique(*, name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["workspace", "idempotency_key"], condition=Q(idempotency_key__isnull=False), name=name
    )
