from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from accounts.models import ApiKey, Membership, Workspace


def memberships_of_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")


def membership_get(*, user: AbstractBaseUser, workspace_id: int) -> Membership | None:
    return Membership.objects.filter(user=user, workspace_id=workspace_id).select_related("workspace").first()


def api_keys_of_workspace(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(workspace=workspace).select_related("created_by").order_by("-created")
