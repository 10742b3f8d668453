"""The Health page (F2): workspace owners and admins see their workspace's numbers, webhooks
and messages next to the shared workers and queues; staff see every workspace. The figures
come from health.selectors, the same as the API and /metrics."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.views.generic import TemplateView

from accounts.mixins import WorkspaceMemberMixin
from accounts.tenancy import scoped
from health.first_run import first_run_steps
from health.selectors import health_report
from health.usage import workspace_usage
from messaging.models import Contact
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import connected_numbers

REFRESH_SECONDS = 15


class HealthPageView(LoginRequiredMixin, TemplateView):
    template_name = "health/health.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not request.user.is_staff:
            if request.workspace is None:
                return redirect("accounts:workspace_create")
            if not request.membership.can_manage:
                raise PermissionDenied("Only workspace owners and admins can see the Health page.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        all_workspaces = self.request.user.is_staff
        report = health_report(workspace=None if all_workspaces else self.request.workspace)
        workspace = self.request.workspace
        context.update(
            report=report,
            all_workspaces=all_workspaces,
            current_workspace_uuid=str(workspace.uuid) if workspace else None,
            status_rows=[
                (status, label, report.sessions_by_status.get(status, 0))
                for status, label in WhatsAppSession.Status.choices
            ],
            sessions_total=sum(report.sessions_by_status.values()),
            refresh_seconds=REFRESH_SECONDS,
        )
        return context


class DashboardView(WorkspaceMemberMixin, TemplateView):
    """The workspace's home: how many numbers are connected, how many contacts it has."""

    template_name = "accounts/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workspace = self.request.workspace
        context["session_count"] = scoped(WhatsAppSession, workspace).filter(deleted_at__isnull=True).count()
        context["connected_count"] = connected_numbers(workspace=workspace).count()
        context["contact_count"] = scoped(Contact, workspace).count()
        context["usage"] = workspace_usage(workspace=workspace)
        steps = first_run_steps(workspace=workspace)
        can_manage = self.request.membership is not None and self.request.membership.can_manage
        context["first_run"] = [s for s in steps if can_manage or not s.managers_only]
        context["first_run_left"] = sum(not s.done for s in context["first_run"])
        return context
