"""The dashboard's first-run checklist (issue 19): what a new workspace does to get going,
each step ticked from what the database knows, never from a flag someone must remember."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from accounts.models import ApiKey, Invitation, Membership, Workspace
from accounts.tenancy import scoped
from messaging.models import Chat
from sessions_app.models import WhatsAppSession


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    how: str
    url: str
    done: bool
    managers_only: bool = False


def first_run_steps(*, workspace: Workspace) -> list[Step]:
    numbers = scoped(WhatsAppSession, workspace)
    return [
        Step(
            "connect",
            "Connect a WhatsApp number",
            "Add a number and scan its QR code with the phone.",
            reverse("sessions_app:session_list"),
            numbers.filter(last_connected_at__isnull=False).exists(),
            managers_only=True,
        ),
        Step(
            "invite",
            "Invite a teammate",
            "Agents answer conversations; admins also manage.",
            reverse("accounts:team"),
            Membership.objects.filter(workspace=workspace).count() > 1
            or Invitation.objects.filter(workspace=workspace).exists(),
            managers_only=True,
        ),
        Step(
            "message",
            "Send a first message",
            "Answer a customer from the inbox (or send one through the API).",
            reverse("messaging:inbox"),
            scoped(Chat, workspace).filter(direction=Chat.Direction.OUTBOUND).exists(),
        ),
        Step(
            "api_key",
            "Create an API key",
            "For your CRM or scripts: the API and signed webhooks.",
            reverse("accounts:api_keys"),
            scoped(ApiKey, workspace).exists(),
            managers_only=True,
        ),
    ]
