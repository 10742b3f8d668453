from django.views.generic import DetailView, ListView

from accounts.mixins import WorkspaceMemberMixin
from accounts.tenancy import get_scoped_or_404
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import sessions_of_workspace


class SessionListView(WorkspaceMemberMixin, ListView):
    template_name = "sessions_app/session_list.html"
    context_object_name = "wa_sessions"

    def get_queryset(self):
        return sessions_of_workspace(workspace=self.request.workspace)


class SessionDetailView(WorkspaceMemberMixin, DetailView):
    template_name = "sessions_app/session_detail.html"
    context_object_name = "wa_session"

    def get_object(self, queryset=None):
        return get_scoped_or_404(
            WhatsAppSession, self.request.workspace, uuid=self.kwargs["session_uuid"], deleted_at__isnull=True
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["events"] = self.object.events.order_by("-at")[:50]
        return context
