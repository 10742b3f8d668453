"""Writes for messaging. Inbound ingestion and outbound sending arrive with the messaging issue."""

from typing import Any

from accounts.models import Workspace
from messaging.models import Contact
from messaging.phones import normalize_phone


def contact_upsert(
    *, workspace: Workspace, phone: str, name: str = "", metadata: dict[str, Any] | None = None
) -> Contact:
    """Creates or updates the workspace's contact for `phone` (any format a phone-number
    library can parse; stored E.164). A blank name never overwrites a known one."""
    e164 = normalize_phone(phone)
    contact, created = Contact.objects.get_or_create(
        workspace=workspace, phone=e164, defaults={"name": name, "metadata": metadata or {}}
    )
    if not created:
        changed = False
        if name and contact.name != name:
            contact.name, changed = name, True
        if metadata:
            merged = {**contact.metadata, **metadata}
            if merged != contact.metadata:
                contact.metadata, changed = merged, True
        if changed:
            contact.save(update_fields=["name", "metadata", "updated_at"])
    return contact
