"""Admission of a new browser for a workspace: its active-numbers quota and its fair share of
the fleet (issue 16: two fresh sign-ups filled a worker of capacity 10 in 2 s and everyone
else got `no_capacity`).

Fair share, precisely: the fleet's capacity C is the sum of `capacity` over the live workers
(alive, heartbeat fresh). A workspace may hold at most

    share = max(BLAZZ_FAIR_SHARE_MIN_SESSIONS, floor(BLAZZ_FAIR_SHARE_FRACTION * C))

browsers, counting its sessions in a slot-holding status (starting, qr_scanning,
authenticated, connected; not deleted) on any worker or none. A create, start, restart or
refresh that would open one more browser beyond `share` is refused (FairShareExceeded, API
503 `fair_share`); nothing already running is ever stopped, and failover, adoption and
reconciliation move existing browsers without this check (they add none). The floor keeps a
small fleet usable: with C = 2 and fraction 0.5 a workspace still gets 2. A fraction of 1
switches the rule off.

Both checks run under the Workspace row lock (the caller takes it), so two concurrent creates
of one workspace cannot both take its last place."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Sum

from accounts import quotas
from sessions_app.models import WhatsAppSession, WorkerInstance
from sessions_app.services.common import ACTIVE_STATUSES, SessionServiceError
from sessions_app.services.workers import worker_heartbeat_cutoff

Status = WhatsAppSession.Status
# A number that counts against the active-numbers quota: kept and meant to run (a
# disconnected number is waiting for a new scan; stopped and failed ones are parked).
NOT_ACTIVE_NUMBER = (Status.STOPPED, Status.FAILED)


class ActiveNumbersQuotaExceeded(quotas.QuotaExceeded, SessionServiceError):
    """The workspace has as many active numbers as its quota allows."""


class FairShareExceeded(SessionServiceError):
    def __init__(self, *, held: int, share: int, capacity: int) -> None:
        self.held, self.share, self.capacity = held, share, capacity
        super().__init__(
            f"This workspace already runs {held} of its fair share of {share} browsers (the session "
            f"workers have {capacity} in all, shared by every workspace); stop a number, or try again "
            "when the operator adds workers."
        )


@dataclass(frozen=True)
class FairShare:
    held: int
    share: int | None
    capacity: int


def fleet_live_capacity() -> int:
    """Browser slots of the live workers (the same liveness placement uses)."""
    live = WorkerInstance.objects.filter(
        status=WorkerInstance.Status.ALIVE, last_heartbeat_at__gte=worker_heartbeat_cutoff()
    )
    return live.aggregate(total=Sum("capacity"))["total"] or 0


def fair_share_of(capacity: int) -> int | None:
    """The most browsers one workspace may hold on a fleet of `capacity`; None: no limit."""
    fraction = settings.BLAZZ_FAIR_SHARE_FRACTION
    if fraction >= 1:
        return None
    return max(settings.BLAZZ_FAIR_SHARE_MIN_SESSIONS, math.floor(fraction * capacity))


def workspace_browsers(*, workspace_id: int) -> int:
    """The workspace's sessions that hold (or are about to hold) a browser slot."""
    return WhatsAppSession.objects.filter(
        workspace_id=workspace_id, deleted_at__isnull=True, status__in=ACTIVE_STATUSES
    ).count()


def workspace_active_numbers(*, workspace_id: int) -> int:
    return (
        WhatsAppSession.objects.filter(workspace_id=workspace_id, deleted_at__isnull=True)
        .exclude(status__in=NOT_ACTIVE_NUMBER)
        .count()
    )


def workspace_fair_share(*, workspace_id: int) -> FairShare:
    capacity = fleet_live_capacity()
    return FairShare(
        held=workspace_browsers(workspace_id=workspace_id), share=fair_share_of(capacity), capacity=capacity
    )


def placement_admit(*, workspace_id: int, new_number: bool, new_browser: bool) -> None:
    """Refuses a placement that would take the workspace past its active-numbers quota
    (`new_number`: a number not counted yet becomes active) or its fair share of the fleet
    (`new_browser`: one more browser slot). Precondition: the caller holds the Workspace row
    lock until its session row is written. With no live worker it admits: the caller's
    worker choice answers NoWorkerCapacity."""
    if new_number:
        quotas.quota_check(
            quota=quotas.ACTIVE_NUMBERS,
            used=workspace_active_numbers(workspace_id=workspace_id),
            error=ActiveNumbersQuotaExceeded,
        )
    if not new_browser:
        return
    fair = workspace_fair_share(workspace_id=workspace_id)
    if fair.capacity and fair.share is not None and fair.held + 1 > fair.share:
        raise FairShareExceeded(held=fair.held, share=fair.share, capacity=fair.capacity)
