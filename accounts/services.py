"""Writes for accounts: sign-up, workspaces, memberships, API keys."""

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from smtplib import SMTPException

import phonenumbers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ApiKey, Invitation, Membership, Workspace
from accounts.selectors import membership_get
from blazz.realtime import publish_access_changed

logger = logging.getLogger(__name__)


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


def workspace_update(
    *, workspace: Workspace, name: str, timezone_name: str, default_country: str
) -> Workspace:
    """Renames the workspace and sets its time zone (campaign windows and times) and default
    country (numbers typed without a country code)."""
    if default_country and default_country not in phonenumbers.SUPPORTED_REGIONS:
        raise AccountsError(f"{default_country!r} is not a country phone numbers know.")
    workspace.name, workspace.timezone, workspace.default_country = (
        name.strip(),
        timezone_name,
        default_country,
    )
    workspace.save(update_fields=["name", "timezone", "default_country"])
    return workspace


@transaction.atomic
def user_signup(
    *, email: str, workspace_name: str, password: str | None = None, password_hash: str | None = None
) -> tuple[AbstractBaseUser, Workspace]:
    """Creates an owner and their first workspace, with a password or an already hashed one
    (a confirmed sign-up's). The e-mail is the username."""
    email = _normalized_email(email)
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=email).exists():
        raise EmailTaken("An account with this e-mail already exists; log in instead.")
    try:
        with transaction.atomic():
            user = user_model.objects.create_user(username=email, email=email, password=password)
    except IntegrityError as exc:  # a concurrent sign-up with the same e-mail
        raise EmailTaken("An account with this e-mail already exists; log in instead.") from exc
    if password_hash is not None:
        user.password = password_hash
        user.save(update_fields=["password"])
    return user, workspace_create(name=workspace_name, owner=user)


# --- Sign-up that does not tell which e-mails have an account -------------------------------
# A sign-up is answered the same way whatever the address: "check your e-mail". What differs
# goes to the address itself: a confirmation link for a new one, a "someone tried to sign up"
# note for one that has an account. Nothing is created until the link is used, together with
# the password chosen at sign-up, so a stranger who signs up with someone else's address can
# neither learn that it exists nor plant an account with a password they know.
# Pending sign-ups live in the cache (Redis) only: losing one costs its owner a new sign-up.


class SignupLinkInvalid(AccountsError):
    pass


class SignupPasswordWrong(AccountsError):
    pass


@dataclass(frozen=True)
class SignupLinks:
    """Absolute URLs for the e-mails (the view knows the host the visitor used)."""

    confirm_url: Callable[[str], str]  # token -> the confirmation page
    login_url: str


def _normalized_email(email: str) -> str:
    return get_user_model().objects.normalize_email(email).lower()


def _pending_signup_key(token: str) -> str:
    return "signup:" + hashlib.sha256(token.encode()).hexdigest()


def signup_request(*, email: str, password: str, workspace_name: str, links: SignupLinks) -> None:
    """Mails the address a confirmation link (valid BLAZZ_SIGNUP_CONFIRM_HOURS) or, when it
    already has an account, a note with the login link. Returns nothing the caller could show
    differently for the two."""
    email = _normalized_email(email)
    # Hashed in both cases, so both take the same time.
    password_hash = make_password(password)
    if get_user_model().objects.filter(username__iexact=email).exists():
        _mail(email, "accounts/email/signup_exists.txt", {"login_url": links.login_url})
        return
    token = secrets.token_urlsafe(32)
    hours = settings.BLAZZ_SIGNUP_CONFIRM_HOURS
    pending = {"email": email, "password_hash": password_hash, "workspace_name": workspace_name.strip()}
    cache.set(_pending_signup_key(token), pending, timeout=hours * 3600)
    _mail(
        email, "accounts/email/signup_confirm.txt", {"confirm_url": links.confirm_url(token), "hours": hours}
    )


def signup_pending_email(*, token: str) -> str | None:
    """The address a still-valid confirmation link is for, or None."""
    pending = cache.get(_pending_signup_key(token))
    return pending["email"] if pending else None


def signup_confirm(*, token: str, password: str) -> tuple[AbstractBaseUser, Workspace]:
    """Creates the account of a pending sign-up, if `password` is the one chosen at sign-up.
    The link works once."""
    key = _pending_signup_key(token)
    pending = cache.get(key)
    if pending is None:
        raise SignupLinkInvalid("This link has expired or was already used. Sign up again to get a new one.")
    if not check_password(password, pending["password_hash"]):
        raise SignupPasswordWrong("That is not the password chosen when signing up.")
    user, workspace = user_signup(
        email=pending["email"],
        workspace_name=pending["workspace_name"],
        password_hash=pending["password_hash"],
    )
    cache.delete(key)
    return user, workspace


def _mail(address: str, template: str, context: dict) -> None:
    subject, _, body = render_to_string(template, context).partition("\n")
    try:
        send_mail(subject.strip(), body.lstrip(), None, [address])
    except (OSError, SMTPException):
        # Answered the same way anyway (the visitor may sign up again); the operator sees why.
        logger.exception("sign-up e-mail could not be sent")


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


# --- Team: invitations, roles, removal ----------------------------------------------------------


class InvitationRefused(AccountsError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvitationInvalid(AccountsError):
    pass


class MembershipChangeRefused(AccountsError):
    pass


INVITABLE_ROLES = (Membership.Role.ADMIN, Membership.Role.AGENT)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(
    *,
    workspace: Workspace,
    email: str,
    role: str,
    invited_by: AbstractBaseUser,
    accept_url: Callable[[str], str],
) -> Invitation:
    """Mails `email` a link (valid BLAZZ_INVITATION_DAYS) to join `workspace` as `role`. A
    pending invitation of the same address is replaced, so only the newest link works."""
    email = _normalized_email(email or "")
    if "@" not in email:
        raise InvitationRefused("Give the teammate's e-mail address.", field="email")
    if role not in INVITABLE_ROLES:
        raise InvitationRefused("Invite as an admin or an agent.", field="role")
    if Membership.objects.filter(workspace=workspace, user__username__iexact=email).exists():
        raise InvitationRefused(f"{email} is already a member of this workspace.", field="email")
    now = timezone.now()
    Invitation.objects.filter(
        workspace=workspace, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        token_hash=_token_hash(token),
        invited_by=invited_by,
        expires_at=now + timedelta(days=settings.BLAZZ_INVITATION_DAYS),
    )
    inviter = invited_by.get_full_name() or invited_by.get_username()
    context = {
        "workspace": workspace.name,
        "inviter": inviter,
        "role": invitation.get_role_display().lower(),
        "accept_url": accept_url(token),
        "days": settings.BLAZZ_INVITATION_DAYS,
    }
    transaction.on_commit(lambda: _mail(email, "accounts/email/invitation.txt", context))
    return invitation


def invitation_for_token(*, token: str) -> Invitation | None:
    """The still-valid invitation a link is for (not expired, used or revoked), or None."""
    return (
        Invitation.objects.select_related("workspace")
        .filter(
            token_hash=_token_hash(token),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def invitation_account_exists(*, invitation: Invitation) -> bool:
    return get_user_model().objects.filter(username__iexact=invitation.email).exists()


@transaction.atomic
def invitation_accept(*, token: str, user: AbstractBaseUser) -> Membership:
    """`user` (logged in as the invited address) joins the workspace with the invited role.
    The link works once; a member already in the workspace keeps the higher of the roles."""
    invitation = Invitation.objects.select_for_update().filter(token_hash=_token_hash(token)).first()
    if invitation is None or invitation_for_token(token=token) is None:
        raise InvitationInvalid(
            "This invitation has expired, was replaced or was already used. Ask for a new one."
        )
    if _normalized_email(user.get_username()) != invitation.email:
        raise InvitationInvalid(
            f"This invitation is for {invitation.email}; you are logged in as {user.get_username()}. "
            "Log out and open the link again."
        )
    membership = Membership.objects.filter(workspace=invitation.workspace, user=user).first()
    if membership is None:
        membership = Membership.objects.create(
            workspace=invitation.workspace, user=user, role=invitation.role
        )
    Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now(), accepted_by=user)
    return membership


@transaction.atomic
def invitation_accept_with_new_account(*, token: str, password: str) -> tuple[AbstractBaseUser, Membership]:
    """Creates the invited address's account (the link proves the mailbox) and joins."""
    invitation = invitation_for_token(token=token)
    if invitation is None:
        raise InvitationInvalid(
            "This invitation has expired, was replaced or was already used. Ask for a new one."
        )
    if invitation_account_exists(invitation=invitation):
        raise InvitationInvalid(
            "An account with this e-mail already exists: log in, then open the link again."
        )
    user = get_user_model().objects.create_user(
        username=invitation.email, email=invitation.email, password=password
    )
    return user, invitation_accept(token=token, user=user)


def invitation_revoke(*, invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(revoked_at=timezone.now())


def _may_change(*, actor: Membership, target: Membership) -> None:
    if target.role == Membership.Role.OWNER and actor.role != Membership.Role.OWNER:
        raise MembershipChangeRefused("Only an owner can change or remove an owner.")


def _other_owners(membership: Membership) -> bool:
    return (
        Membership.objects.filter(workspace_id=membership.workspace_id, role=Membership.Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def membership_change_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    """A manager changes a member's role; the member's open pages follow (accounts.signals)."""
    if role not in Membership.Role.values:
        raise MembershipChangeRefused("Pick owner, admin or agent.")
    if role == Membership.Role.OWNER and actor.role != Membership.Role.OWNER:
        raise MembershipChangeRefused("Only an owner can make someone an owner.")
    _may_change(actor=actor, target=membership)
    if (
        membership.role == Membership.Role.OWNER
        and role != Membership.Role.OWNER
        and not _other_owners(membership)
    ):
        raise MembershipChangeRefused("A workspace keeps at least one owner; make someone else owner first.")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove_by(*, actor: Membership, membership: Membership) -> None:
    """A manager removes a member (their access, open sockets included, ends at once)."""
    _may_change(actor=actor, target=membership)
    if membership.role == Membership.Role.OWNER and not _other_owners(membership):
        raise MembershipChangeRefused("A workspace keeps at least one owner.")
    membership_remove(membership=membership)
