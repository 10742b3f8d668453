from accounts.selectors import memberships_of_user


def workspace(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_workspace": getattr(request, "workspace", None),
        "current_membership": getattr(request, "membership", None),
        "user_memberships": memberships_of_user(user=user),
        "failed_numbers": _failed_numbers(getattr(request, "workspace", None)),
    }


def _failed_numbers(workspace) -> list:
    """Numbers of the workspace that gave up (F7 alert banner): until an admin acts."""
    if workspace is None:
        return []
    from sessions_app.models import WhatsAppSession

    return list(
        WhatsAppSession.objects.filter(workspace=workspace, status="failed", deleted_at__isnull=True).only(
            "phone_number", "session_id"
        )
    )
