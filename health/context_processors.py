from sessions_app.models import WhatsAppSession


def failed_numbers(request) -> dict:
    """Numbers of the workspace that gave up (F7 alert banner in every page): until an admin acts."""
    workspace = getattr(request, "workspace", None)
    user = getattr(request, "user", None)
    if workspace is None or user is None or not user.is_authenticated:
        return {}
    return {
        "failed_numbers": list(
            WhatsAppSession.objects.filter(
                workspace=workspace, status=WhatsAppSession.Status.FAILED, deleted_at__isnull=True
            ).only("phone_number", "session_id")
        )
    }
