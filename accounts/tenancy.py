"""The one tenant-scoping helper. Every query made on behalf of a request goes through
`scoped()` or `get_scoped_or_404()`, so a workspace can never read another's rows: a row
of another workspace is indistinguishable from a row that does not exist (404)."""

from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

M = TypeVar("M", bound=Model)

# Models that reach their workspace through a relation declare the path here instead of
# carrying a redundant column; the default is a direct `workspace` foreign key.
_TENANT_PATHS: dict[str, str] = {
    "sessions_app.sessionsnapshot": "session__workspace",
    "sessions_app.sessionevent": "session__workspace",
    "messaging.contactsession": "contact__workspace",
    "messaging.conversationnote": "conversation__contact__workspace",
    "messaging.webhookdelivery": "endpoint__workspace",
    "campaigns.campaignlog": "campaign__workspace",
}


def tenant_path(model: type[Model]) -> str:
    return _TENANT_PATHS.get(model._meta.label_lower, "workspace")


def scoped(model_or_queryset: type[M] | QuerySet[M], workspace: Any) -> QuerySet[M]:
    """The rows of `workspace` only. `workspace` may be a Workspace or its id; None gives
    an empty queryset rather than every tenant's rows."""
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, QuerySet)
        else model_or_queryset._default_manager.all()
    )
    if workspace is None:
        return queryset.none()
    return queryset.filter(**{tenant_path(queryset.model): workspace})


def get_scoped_or_404(model_or_queryset: type[M] | QuerySet[M], workspace: Any, **lookup: Any) -> M:
    queryset = scoped(model_or_queryset, workspace)
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, ValidationError) as exc:
        # A malformed id is as unknown as a foreign one: 404, never 500.
        raise Http404("Not found.") from exc
