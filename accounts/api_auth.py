"""API-key authentication for DRF: `Authorization: Api-Key <key>` (djangorestframework-api-key
parses and verifies the hash; this module ties the key to its workspace)."""

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions, permissions
from rest_framework_api_key.permissions import KeyParser

from accounts.models import ApiKey
from accounts.services import api_key_touch


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        key = KeyParser().get(request)
        if not key:
            return None
        # Hostile input (NUL bytes, megabyte headers) must be a 401, not a database error.
        if len(key) > 200 or not key.isascii() or not key.isprintable():
            raise exceptions.AuthenticationFailed("Invalid API key.")
        prefix, _, _ = key.partition(".")
        api_key = ApiKey.objects.select_related("workspace").filter(prefix=prefix).first()
        # The hash is checked before revocation so a revoked key's prefix alone reveals nothing.
        if api_key is None or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if api_key.revoked:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        api_key_touch(api_key=api_key)
        return AnonymousUser(), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class HasWorkspaceApiKey(permissions.BasePermission):
    message = "Authenticate with 'Authorization: Api-Key <key>'."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


def api_workspace(request):
    """The workspace an API request acts for: always the key's, never a parameter."""
    return request.auth.workspace
