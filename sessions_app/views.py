"""The Numbers pages: list, add, one number's live QR and state, and its verbs. Each verb
is one POST that calls one service and redirects with a flash message; a refusal by a
service is a flash error, never a 500. Live parts are driven by static/blazz/numbers.js."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views import View
from django.views.generic import ListView, TemplateView

from accounts.mixins import WorkspaceManagerMixin, WorkspaceMemberMixin
from accounts.quotas import ACTIVE_NUMBERS, quota_limit
from sessions_app import services
from sessions_app.models import WhatsAppSession
from sessions_app.qr import qr_svg
from sessions_app.selectors import (
    session_current_qr,
    session_get_or_404,
    session_timeline,
    sessions_of_workspace,
)
from sessions_app.services.idempotency import session_create_idempotent
from sessions_app.services.placement import workspace_active_numbers

Status = WhatsAppSession.Status
# Statuses in which a browser is (or is about to be) open for the number.
LIVE_STATUSES = tuple(services.ACTIVE_STATUSES)
# The add form carries a one-time key so a double click or a resubmitted form finds the
# session the first submit created instead of starting a second browser (and spending a
# second QR attempt).
_FORM_KEY = re.compile(r"^[0-9a-f]{32}$")


def display_name(session: WhatsAppSession) -> str:
    number = str(session.phone_number) if session.phone_number else session.session_id
    return f"{number} ({session.display_name})" if session.display_name else number


class LiveNumbersMixin:
    """Context every Numbers page needs for numbers.js and the manager-only controls."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        membership = self.request.membership
        context["can_manage"] = bool(membership and membership.can_manage)
        context["status_labels"] = dict(Status.choices)
        return context


class SessionListView(WorkspaceMemberMixin, LiveNumbersMixin, ListView):
    template_name = "sessions_app/session_list.html"
    context_object_name = "wa_sessions"

    def get_queryset(self):
        return sessions_of_workspace(workspace=self.request.workspace)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        budget = services.qr_budget(workspace=self.request.workspace)
        context["qr_budget"] = budget
        # Said before the click, so nobody is surprised by the refusal.
        context["qr_wait_minutes"] = (
            max(1, round(budget.wait_seconds / 60)) if budget.used >= budget.limit else None
        )
        context["add_key"] = uuid.uuid4().hex
        # Said before the click too: the quota and the fair share that would refuse a new number.
        workspace_id = self.request.workspace.pk
        context["active_numbers"] = workspace_active_numbers(workspace_id=workspace_id)
        context["active_numbers_limit"] = quota_limit(ACTIVE_NUMBERS)
        context["fair_share"] = services.workspace_fair_share(workspace_id=workspace_id)
        return context


class SessionAddView(WorkspaceManagerMixin, View):
    def post(self, request):
        key = request.POST.get("idempotency_key", "")
        try:
            session, created = session_create_idempotent(
                workspace=request.workspace,
                created_by=request.user,
                idempotency_key=f"ui:{key}" if _FORM_KEY.match(key) else None,
            )
        except services.SessionServiceError as exc:
            # QrAttemptsExceeded carries the wait time, NoWorkerCapacity says why.
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("sessions_app:session_list"))
        if created:
            messages.success(request, "Number added. Scan the QR code below with the phone when it appears.")
        else:
            messages.info(request, "This number was already being added; here it is.")
        return HttpResponseRedirect(reverse("sessions_app:session_detail", args=[session.uuid]))


class SessionDetailView(WorkspaceMemberMixin, LiveNumbersMixin, TemplateView):
    template_name = "sessions_app/session_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        session = session_get_or_404(
            workspace=self.request.workspace, session_uuid=self.kwargs["session_uuid"]
        )
        context.update(
            wa_session=session,
            events=session_timeline(session=session),
            qr=session_current_qr(session=session),
            qr_budget=services.qr_budget(workspace=self.request.workspace),
            is_live=session.status in LIVE_STATUSES,
        )
        return context


class SessionQrSvgView(WorkspaceManagerMixin, View):
    """The QR code the number's page shows now, as SVG. The page's <img> asks again with a
    new `?v=` each time a `session.qr` event says the code rotated. Owners and admins only:
    whoever scans the code links a phone to the number, which agents may not do."""

    def get(self, request, session_uuid):
        session = session_get_or_404(workspace=request.workspace, session_uuid=session_uuid)
        qr = session_current_qr(session=session)
        if qr is None:
            raise Http404("This number is not showing a QR code.")
        response = HttpResponse(qr_svg(qr.code), content_type="image/svg+xml")
        # The code is a short-lived login credential: never keep it in any cache.
        response["Cache-Control"] = "no-store"
        return response


@dataclass(frozen=True)
class Verb:
    service: Callable[..., WhatsAppSession]
    done: str  # flash message; {name} is the number
    back_to_list: bool = False


VERBS: dict[str, Verb] = {
    "start": Verb(services.session_start, "Starting {name}."),
    "restart": Verb(
        services.session_restart, "Restarting {name}; it reconnects without a new QR if logged in."
    ),
    "stop": Verb(services.session_stop, "Stopping {name}; its login is kept for the next start."),
    "logout": Verb(
        services.session_logout, "Logging {name} out of WhatsApp; it needs a new QR scan to connect."
    ),
    "delete": Verb(services.session_delete, "Deleted {name}.", back_to_list=True),
    "primary": Verb(services.session_set_primary, "{name} is now the primary number."),
    "refresh_qr": Verb(services.session_refresh_qr, "Asked {name} for a fresh QR code."),
}


class SessionVerbView(WorkspaceManagerMixin, View):
    """One POST per verb; `verb` is fixed per URL (see urls.py)."""

    verb: str = ""

    def post(self, request, session_uuid):
        session = session_get_or_404(workspace=request.workspace, session_uuid=session_uuid)
        verb = VERBS[self.verb]
        name = display_name(session)
        try:
            verb.service(session=session)
        except services.SessionServiceError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("sessions_app:session_detail", args=[session.uuid]))
        messages.success(request, verb.done.format(name=name))
        if verb.back_to_list:
            return HttpResponseRedirect(reverse("sessions_app:session_list"))
        return HttpResponseRedirect(reverse("sessions_app:session_detail", args=[session.uuid]))


class SessionLinkCodeView(WorkspaceManagerMixin, View):
    """Pair by code: the admin types the phone number, the page then shows the code to type
    on the phone (pushed live as `session.link_code`)."""

    def post(self, request, session_uuid):
        session = session_get_or_404(workspace=request.workspace, session_uuid=session_uuid)
        try:
            services.session_request_link_code(
                session=session, phone_number=request.POST.get("phone_number", "")
            )
        except services.SessionServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Asked WhatsApp for a pairing code; it appears here in a moment.")
        return HttpResponseRedirect(reverse("sessions_app:session_detail", args=[session.uuid]))


class SessionRenameView(WorkspaceManagerMixin, View):
    """Names the number for the team ("Sales"); blank clears the name."""

    def post(self, request, session_uuid):
        session = session_get_or_404(workspace=request.workspace, session_uuid=session_uuid)
        try:
            services.session_rename(session=session, display_name=request.POST.get("display_name", ""))
        except services.SessionServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Saved the name." if session.display_name else "Cleared the name.")
        return HttpResponseRedirect(reverse("sessions_app:session_detail", args=[session.uuid]))
