"""Writes for accounts: sign-up, workspaces, memberships, API keys."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ApiKey, Membership, Workspace
from accounts.selectors import membership_get
from blazz.realtime import publish_access_changed


class AccountsError(Exception):
    """A business rule refused the request; the message is safe to show."""


class EmailTaken(AccountsError):
    pass


class NotAMember(AccountsError):
    pass


def _unique_slug(name: str) -> str:
    base = slugify(name)[:120] or "workspace"
    slug, n = base, 2
    while Workspace.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def workspace_create(*, name: str, owner: AbstractBaseUser, timezone_name: str = "UTC") -> Workspace:
    """Creates a workspace with `owner` as its owner member."""
    workspace = Workspace.objects.create(name=name.strip(), slug=_unique_slug(name), timezone=timezone_name)
    Membership.objects.create(user=owner, workspace=workspace, role=Membership.Role.OWNER)
    return workspace


@transaction.atomic
def user_signup(*, email: str, password: str, workspace_name: str) -> tuple[AbstractBaseUser, Workspace]:
    """Creates an admin user and their first workspace. The e-mail is the username."""
    email = get_user_model().objects.normalize_email(email).lower()
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=email).exists():
        raise EmailTaken("An account with this e-mail already exists.")
    try:
        user = user_model.objects.create_user(username=email, email=email, password=password)
    except IntegrityError as exc:  # a concurrent sign-up with the same e-mail
        raise EmailTaken("An account with this e-mail already exists.") from exc
    return user, workspace_create(name=workspace_name, owner=user)


def membership_add(*, workspace: Workspace, user: AbstractBaseUser, role: str) -> Membership:
    """Adds `user` to `workspace` or changes their role; idempotent."""
    membership, _ = Membership.objects.update_or_create(
        user=user, workspace=workspace, defaults={"role": role}
    )
    return membership


def workspace_switch(
    *, user: AbstractBaseUser, workspace_id: int, session_key: str | None = None
) -> Membership:
    """Returns the membership to switch to; refuses a workspace the user is not in. The
    browser session `session_key` now acts in that workspace: its open sockets, still on the
    previous one, are told to close (the caller stores the choice in the session)."""
    membership = membership_get(user=user, workspace_id=workspace_id)
    if membership is None:
        raise NotAMember("You are not a member of that workspace.")
    if session_key:
        publish_access_changed(
            user_pk=user.pk, switched_session=session_key, workspace_id=membership.workspace_id
        )
    return membership


def membership_remove(*, membership: Membership) -> None:
    """Removes a member from a workspace. Their open sockets on it close (accounts.signals)."""
    membership.delete()


def api_key_create(
    *, workspace: Workspace, name: str, created_by: AbstractBaseUser | None
) -> tuple[ApiKey, str]:
    """Returns the key row and the full key. Only the hash is stored: the full key
    exists in this return value and nowhere else."""
    api_key, full_key = ApiKey.objects.create_key(
        name=name.strip(), workspace=workspace, created_by=created_by
    )
    return api_key, full_key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revokes a key; revoking twice keeps the first revocation time."""
    ApiKey.objects.filter(pk=api_key.pk, revoked=False).update(revoked=True, revoked_at=timezone.now())
    api_key.refresh_from_db()
    return api_key


# A key is used on every API request; writing last_used_at each time would turn reads
# into writes, so it is refreshed at most once a minute.
LAST_USED_RESOLUTION_SECONDS = 60


def api_key_touch(*, api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at and (now - api_key.last_used_at).total_seconds() < LAST_USED_RESOLUTION_SECONDS:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
