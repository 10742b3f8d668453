from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect


class WorkspaceMemberMixin(LoginRequiredMixin):
    """A logged-in user acting inside their current workspace."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.workspace is None:
            return redirect("accounts:workspace_create")
        return super().dispatch(request, *args, **kwargs)


class WorkspaceManagerMixin(WorkspaceMemberMixin):
    """Owners and admins only: agents answer chats but do not manage keys, numbers or webhooks."""

    def dispatch(self, request, *args, **kwargs):
        if (
            request.user.is_authenticated
            and request.membership is not None
            and not request.membership.can_manage
        ):
            raise PermissionDenied("Only workspace owners and admins can do this.")
        return super().dispatch(request, *args, **kwargs)
