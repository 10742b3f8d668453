from django.db.models import QuerySet

from accounts.models import Workspace
from accounts.tenancy import scoped
from sessions_app.models import WhatsAppSession


def sessions_of_workspace(*, workspace: Workspace) -> QuerySet[WhatsAppSession]:
    """The workspace's numbers that are not soft-deleted, newest first."""
    return (
        scoped(WhatsAppSession, workspace)
        .filter(deleted_at__isnull=True)
        .select_related("assigned_worker")
        .order_by("-is_primary", "-created_at")
    )
