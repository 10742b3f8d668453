from accounts.selectors import SESSION_WORKSPACE_KEY, membership_get, memberships_of_user

# SESSION_WORKSPACE_KEY lives in selectors now (the websocket access check reads it too); it is
# still importable from here.
__all__ = ["SESSION_WORKSPACE_KEY", "CurrentWorkspaceMiddleware"]


class CurrentWorkspaceMiddleware:
    """Sets `request.workspace` and `request.membership` for logged-in users, from the
    workspace chosen in their session — re-checked against Membership on every request,
    so a removed member loses access at once."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = None
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = None
            chosen = request.session.get(SESSION_WORKSPACE_KEY)
            if chosen is not None:
                membership = membership_get(user=user, workspace_id=chosen)
            if membership is None:
                membership = memberships_of_user(user=user).first()
                if membership is not None:
                    request.session[SESSION_WORKSPACE_KEY] = membership.workspace_id
            if membership is not None:
                request.membership = membership
                request.workspace = membership.workspace
        return self.get_response(request)
