from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.crypto import constant_time_compare

from accounts.models import ApiKey, Membership, Workspace

# The session key that holds the workspace a browser session acts in.
SESSION_WORKSPACE_KEY = "workspace_id"


def memberships_of_user(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")


def membership_get(*, user: AbstractBaseUser, workspace_id: int) -> Membership | None:
    return Membership.objects.filter(user=user, workspace_id=workspace_id).select_related("workspace").first()


def api_keys_of_workspace(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(workspace=workspace).select_related("created_by").order_by("-created")


@dataclass(frozen=True)
class SocketAccess:
    """What an open websocket may see, as the database says now. `user_pk` None: the session
    is logged out (or its user deactivated, or its password changed); `membership` None:
    logged in but not a member of the session's workspace."""

    session_key: str | None
    user_pk: int | None
    membership: Membership | None

    @property
    def workspace_id(self) -> int | None:
        return self.membership.workspace_id if self.membership else None

    @property
    def can_manage(self) -> bool:
        return bool(self.membership and self.membership.can_manage)

    def same_as(self, other: "SocketAccess") -> bool:
        """The same user, workspace and kind of role: a socket opened with `self` may go on."""
        return (self.user_pk, self.workspace_id, self.can_manage) == (
            other.user_pk,
            other.workspace_id,
            other.can_manage,
        )


def socket_access(*, session_key: str | None) -> SocketAccess:
    """Reads a browser session the way every HTTP request does (django.contrib.auth.get_user:
    the session must exist, its user be active and its password hash match), then the
    membership of the workspace the session acts in. Reads only: unlike get_user, it never
    flushes or cycles the session (the browser's next request does that)."""
    if not session_key:
        return SocketAccess(session_key=None, user_pk=None, membership=None)
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = _session_user(store)
    if user is None:
        return SocketAccess(session_key=session_key, user_pk=None, membership=None)
    workspace_id = store.get(SESSION_WORKSPACE_KEY)
    membership = membership_get(user=user, workspace_id=workspace_id) if workspace_id is not None else None
    return SocketAccess(session_key=session_key, user_pk=user.pk, membership=membership)


def _session_user(store) -> AbstractBaseUser | None:
    try:
        user_id = get_user_model()._meta.pk.to_python(store[SESSION_KEY])
        backend_path = store[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = load_backend(backend_path).get_user(user_id)  # None for an inactive user
    session_hash = store.get(HASH_SESSION_KEY)
    if user is None or not session_hash:
        return None
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not any(constant_time_compare(session_hash, known) for known in hashes):
        return None  # the password changed since this session logged in
    return user
