"""Per-workspace quotas (issue 16: a hostile or runaway tenant must not exhaust what every
tenant shares). The definitions live here, at the bottom of the apps, so each app enforces
its own quota where it writes (sessions_app: active numbers; messaging: contacts and webhook
endpoints; campaigns: recipients per campaign) and raises an error that is both its own
domain error (its views already turn those into a form error or a flash) and a
`QuotaExceeded` (the API answers 403 `quota_exceeded`).

Limits are settings (django-environ), the same for every workspace; usage is counted from
the tables when asked, never cached, so a deleted number frees its place at once."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection

# Names, as they appear in the API's usage document and in error messages.
ACTIVE_NUMBERS = "active_numbers"
CONTACTS = "contacts"
CAMPAIGN_RECIPIENTS = "campaign_recipients"
WEBHOOK_ENDPOINTS = "webhook_endpoints"

_SETTING = {
    ACTIVE_NUMBERS: "BLAZZ_QUOTA_ACTIVE_NUMBERS",
    CONTACTS: "BLAZZ_QUOTA_CONTACTS",
    CAMPAIGN_RECIPIENTS: "BLAZZ_QUOTA_CAMPAIGN_RECIPIENTS",
    WEBHOOK_ENDPOINTS: "BLAZZ_QUOTA_WEBHOOK_ENDPOINTS",
}
_NOUN = {
    ACTIVE_NUMBERS: "active numbers",
    CONTACTS: "contacts",
    CAMPAIGN_RECIPIENTS: "recipients in one campaign",
    WEBHOOK_ENDPOINTS: "webhook endpoints",
}


def quota_limit(name: str) -> int | None:
    """The limit for `name`, or None when the deployment sets none (a setting not defined)."""
    value = getattr(settings, _SETTING[name], None)
    return None if value is None else int(value)


class QuotaExceeded(Exception):
    """A write would take the workspace past one of its quotas. The message says which,
    the limit and the usage, and is safe to show. Apps subclass it together with their own
    domain error so their UI catches it as usual."""

    def __init__(self, *, quota: str, limit: int, used: int, adding: int = 1, field: str | None = None):
        noun = _NOUN[quota]
        if adding > 1:
            detail = f"this would add {adding} to the {used} it has"
        else:
            detail = f"it has {used}"
        super().__init__(
            f"This workspace may have at most {limit} {noun}; {detail}. "
            "Remove some first, or ask the operator to raise the quota."
        )
        # After the base classes' __init__ (an app's error may set its own `field`).
        self.quota, self.limit, self.used, self.adding, self.field = quota, limit, used, adding, field


def quota_check(
    *,
    quota: str,
    used: int,
    adding: int = 1,
    error: type[QuotaExceeded] = QuotaExceeded,
    field: str | None = None,
) -> None:
    """Raises `error` when `used + adding` passes the limit of `quota` (no limit: never)."""
    limit = quota_limit(quota)
    if limit is not None and used + adding > limit:
        raise error(quota=quota, limit=limit, used=used, adding=adding, field=field)


# Namespace of the per-workspace advisory locks that serialise quota checks (ASCII "QUOT").
_QUOTA_LOCK_SPACE = 0x51554F54


def quota_lock(*, quota: str, workspace_id: int) -> None:
    """Serialises the count-then-insert of one quota of one workspace until the transaction
    ends, so concurrent requests cannot each see room for the last place. Precondition:
    inside a transaction. Other workspaces are not blocked."""
    key = (workspace_id * 8 + list(_SETTING).index(quota)) % 2_147_483_647
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_QUOTA_LOCK_SPACE, key])


@dataclass(frozen=True)
class Usage:
    """One line of a workspace's usage panel: what it uses of which limit."""

    name: str
    used: int
    limit: int | None
    description: str

    @property
    def percent(self) -> float | None:
        if not self.limit:
            return None
        return round(100.0 * self.used / self.limit, 1)

    @property
    def reached(self) -> bool:
        return self.limit is not None and self.used >= self.limit
