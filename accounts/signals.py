"""Access changes announced to the user's open sockets (accounts.consumers), wherever they are
made. Model signals rather than services on purpose: memberships are also removed and edited
in the admin and by cascades (a deleted user or workspace), and every one of those paths must
close the sockets too."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Membership
from blazz.realtime import publish_access_changed


@receiver(user_logged_out, dispatch_uid="accounts.sockets_end_with_their_session")
def sockets_end_with_their_session(sender, request, user, **kwargs) -> None:
    # Sent before Django flushes the session: the key is still known here.
    if user is not None and request is not None and request.session.session_key:
        publish_access_changed(user_pk=user.pk, ended_session=request.session.session_key)


@receiver(post_save, sender=Membership, dispatch_uid="accounts.sockets_follow_membership_change")
def sockets_follow_membership_change(sender, instance: Membership, created: bool, **kwargs) -> None:
    if not created:  # a new membership takes nothing away
        publish_access_changed(user_pk=instance.user_id)


@receiver(post_delete, sender=Membership, dispatch_uid="accounts.sockets_follow_membership_removal")
def sockets_follow_membership_removal(sender, instance: Membership, **kwargs) -> None:
    publish_access_changed(user_pk=instance.user_id)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.sockets_follow_user_change")
def sockets_follow_user_change(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    # A new password ends every other session (its hash is in them) and so does deactivation;
    # the login bookkeeping every login writes changes nothing.
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    publish_access_changed(user_pk=instance.pk)
