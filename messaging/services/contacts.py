"""Contacts: add, edit, and who sent an inbound message (phone, LID, or both, merged when
WhatsApp's mapping appears)."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from accounts import quotas
from accounts.models import Workspace
from blazz.json_documents import JsonDocumentRefused, json_document_check
from blazz.phones import InvalidPhoneNumber, normalize_phone
from messaging.models import Chat, Contact, ContactSession, ConversationNote
from messaging.services.common import InvalidContact

logger = logging.getLogger(__name__)

CONTACT_NAME_MAX_CHARS = 200  # the column
# Metadata is what campaign filters match on besides tags ({"city": "Recife"}); a document,
# not a file store: bounded so one contact cannot bloat every audience query.
CONTACT_METADATA_MAX_BYTES = 16 * 1024
CONTACT_METADATA_MAX_KEYS = 50
CONTACT_TAG_MAX_CHARS = 50  # the column
CONTACT_TAGS_MAX = 30


def _contact_name_clean(name: Any) -> str:
    if not isinstance(name, str):
        raise InvalidContact("The name must be text.", field="name")
    name = name.strip()
    if "\x00" in name:
        raise InvalidContact("The name must not contain NUL characters.", field="name")
    if len(name) > CONTACT_NAME_MAX_CHARS:
        raise InvalidContact(
            f"The name has {len(name)} characters; the limit is {CONTACT_NAME_MAX_CHARS}.", field="name"
        )
    return name


def _contact_metadata_clean(metadata: Any) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise InvalidContact('Metadata must be a JSON object such as {"city": "Recife"}.', field="metadata")
    try:
        json_document_check(metadata)
    except JsonDocumentRefused as refused:
        raise InvalidContact(f"Metadata: {refused.message}", field="metadata") from None
    if len(metadata) > CONTACT_METADATA_MAX_KEYS:
        raise InvalidContact(
            f"Metadata has {len(metadata)} keys; the limit is {CONTACT_METADATA_MAX_KEYS}.", field="metadata"
        )
    try:
        size = len(json.dumps(metadata, ensure_ascii=False, allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise InvalidContact(f"Metadata is not plain JSON: {exc}.", field="metadata") from exc
    if size > CONTACT_METADATA_MAX_BYTES:
        raise InvalidContact(
            f"Metadata is {size} bytes as JSON; the limit is {CONTACT_METADATA_MAX_BYTES}.", field="metadata"
        )
    return metadata


def contact_tags_clean(tags: Any) -> list[str]:
    """Tags as stored: spaces collapsed, lower case (so "VIP" and "vip " are one tag), each
    kept once in the order first given. Accepts a list, or one text of comma-separated tags
    (the tag editor's field and a CSV cell)."""
    if isinstance(tags, str):
        tags = tags.split(",")
    if not isinstance(tags, list | tuple) or not all(isinstance(tag, str) for tag in tags):
        raise InvalidContact('Tags must be a list of texts, e.g. ["vip", "wholesale"].', field="tags")
    clean: list[str] = []
    for raw in tags:
        if "\x00" in raw:
            raise InvalidContact("A tag must not contain NUL characters.", field="tags")
        tag = " ".join(raw.split()).lower()
        if not tag or tag in clean:
            continue
        if len(tag) > CONTACT_TAG_MAX_CHARS:
            raise InvalidContact(
                f'The tag "{tag[:20]}…" has {len(tag)} characters; the limit is {CONTACT_TAG_MAX_CHARS}.',
                field="tags",
            )
        clean.append(tag)
    if len(clean) > CONTACT_TAGS_MAX:
        raise InvalidContact(
            f"{len(clean)} tags; a contact can have at most {CONTACT_TAGS_MAX}.", field="tags"
        )
    return clean


def _legacy_tags_split(metadata: dict[str, Any]) -> tuple[dict[str, Any], list[str] | None]:
    """The first release kept tags as `metadata["tags"]`, and integrators still send them
    there: such a list is taken as the contact's tags, never stored as metadata."""
    if "tags" not in metadata:
        return metadata, None
    rest = {key: value for key, value in metadata.items() if key != "tags"}
    return rest, contact_tags_clean(metadata["tags"])


class ContactsQuotaExceeded(quotas.QuotaExceeded, InvalidContact):
    """The workspace has as many contacts as BLAZZ_QUOTA_CONTACTS allows."""


def contacts_quota_reserve(*, workspace: Workspace | int, new: int) -> None:
    """Refuses `new` more contacts past the workspace's quota. Precondition: inside a
    transaction, which then holds the workspace's contacts-quota lock until it ends (so two
    requests cannot both take the last place). Contacts created by inbound messages do not
    call this: a customer's message is never refused for a quota."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    if not new or quotas.quota_limit(quotas.CONTACTS) is None:
        return
    quotas.quota_lock(quota=quotas.CONTACTS, workspace_id=workspace_id)
    quotas.quota_check(
        quota=quotas.CONTACTS,
        used=Contact.objects.filter(workspace_id=workspace_id).count(),
        adding=new,
        error=ContactsQuotaExceeded,
        field="phone",
    )


def contacts_count(*, workspace: Workspace | int) -> int:
    return Contact.objects.filter(workspace=workspace).count()


@dataclass(frozen=True)
class EnsuredContacts:
    uuids: list[str]  # one per phone that has a contact now, in the order given
    over_quota: list[str]  # phones left out: they would have passed the contacts quota


def contacts_ensure(*, workspace: Workspace, phones: list[str]) -> EnsuredContacts:
    """The workspace's contacts for these E.164 phones, creating the missing ones in one
    statement (ON CONFLICT DO NOTHING: a concurrent or repeated call creates nothing twice)
    as far as the contacts quota allows. For bulk imports (campaign recipient lists).
    Precondition: inside a transaction."""
    wanted = list(dict.fromkeys(phones))
    existing = {
        phone.as_e164
        for phone in Contact.objects.filter(workspace=workspace, phone__in=wanted).values_list(
            "phone", flat=True
        )
    }
    missing = [p for p in wanted if p not in existing]
    over_quota: list[str] = []
    limit = quotas.quota_limit(quotas.CONTACTS)
    if missing and limit is not None:
        quotas.quota_lock(quota=quotas.CONTACTS, workspace_id=workspace.pk)
        room = max(0, limit - contacts_count(workspace=workspace))
        missing, over_quota = missing[:room], missing[room:]
    Contact.objects.bulk_create(
        [Contact(workspace=workspace, phone=p) for p in missing], ignore_conflicts=True
    )
    refused = set(over_quota)
    keep = [p for p in wanted if p not in refused]
    by_phone = {
        phone.as_e164: str(uuid)
        for phone, uuid in Contact.objects.filter(workspace=workspace, phone__in=keep).values_list(
            "phone", "uuid"
        )
    }
    return EnsuredContacts(uuids=[by_phone[p] for p in keep if p in by_phone], over_quota=over_quota)


@transaction.atomic
def contact_upsert(
    *, workspace: Workspace, phone: str, name: str = "", metadata: dict[str, Any] | None = None
) -> Contact:
    """Creates or updates the workspace's contact for `phone` (any format a phone-number
    library can parse; stored E.164). A blank name never overwrites a known one; tags given
    (`metadata["tags"]`) are added to the contact's. A new contact counts against the
    contacts quota (ContactsQuotaExceeded)."""
    e164 = normalize_phone(phone)
    metadata, tags = _legacy_tags_split(metadata or {})
    if not Contact.objects.filter(workspace=workspace, phone=e164).exists():
        contacts_quota_reserve(workspace=workspace, new=1)
    contact, created = Contact.objects.get_or_create(
        workspace=workspace, phone=e164, defaults={"name": name, "metadata": metadata, "tags": tags or []}
    )
    if not created:
        changed = False
        if name and contact.name != name:
            contact.name, changed = name, True
        if metadata:
            merged = {**contact.metadata, **metadata}
            if merged != contact.metadata:
                contact.metadata, changed = merged, True
        if tags:
            added = contact_tags_clean([*contact.tags, *tags])
            if added != contact.tags:
                contact.tags, changed = added, True
        if changed:
            contact.save(update_fields=["name", "metadata", "tags", "updated_at"])
    return contact


def contact_create(
    *,
    workspace: Workspace,
    phone: Any,
    name: Any = "",
    metadata: Any = None,
    tags: Any = None,
    merge_existing: bool = True,
) -> tuple[Contact, bool]:
    """Adds the workspace's contact for `phone`, or returns the one it has (and False).

    The phone number is the contact's natural key (unique per workspace), so a retried or
    concurrent create never makes a second row. For an existing contact the API's create
    (documented as such) replaces the name with a non-blank one, merges metadata keys in and
    adds the tags given;
    with `merge_existing=False` (a person adding a contact in the UI) it is left as it is and
    the caller says so, so typing a known number never renames someone silently."""
    if not isinstance(phone, str):
        raise InvalidContact("The phone number must be text.", field="phone")
    try:
        e164 = normalize_phone(phone, region=workspace.phone_region)
    except InvalidPhoneNumber as exc:
        raise InvalidContact(str(exc), field="phone") from exc
    clean_name = _contact_name_clean(name)
    clean_metadata, legacy_tags = _legacy_tags_split(
        _contact_metadata_clean({} if metadata is None else metadata)
    )
    clean_tags = contact_tags_clean([*(legacy_tags or []), *contact_tags_clean([] if tags is None else tags)])
    with transaction.atomic():
        if not Contact.objects.filter(workspace=workspace, phone=e164).exists():
            contacts_quota_reserve(workspace=workspace, new=1)
        # get_or_create settles a concurrent create on the unique constraint: one row, and
        # only one of the callers is told it created it.
        contact, created = Contact.objects.get_or_create(
            workspace=workspace,
            phone=e164,
            defaults={"name": clean_name, "metadata": clean_metadata, "tags": clean_tags},
        )
        if created or not merge_existing:
            return contact, created
        contact = Contact.objects.select_for_update(no_key=True).get(pk=contact.pk)
        merged = _contact_metadata_clean({**contact.metadata, **clean_metadata})
        merged_tags = contact_tags_clean([*contact.tags, *clean_tags])
        if (
            (clean_name and clean_name != contact.name)
            or merged != contact.metadata
            or merged_tags != contact.tags
        ):
            contact.name = clean_name or contact.name
            contact.metadata = merged
            contact.tags = merged_tags
            contact.save(update_fields=["name", "metadata", "tags", "updated_at"])
    return contact, False


@transaction.atomic
def contact_erase(*, contact: Contact) -> dict[str, int]:
    """Deletes the contact and everything about it: messages, conversations and their notes,
    campaign recipients, and what the webhook outbox holds about it (an erasure request).
    Returns what was deleted, by model."""
    from messaging.services.media import media_files_delete
    from messaging.webhooks import webhook_payloads_erase_contact  # the outbox imports services

    outbox = webhook_payloads_erase_contact(workspace_id=contact.workspace_id, contact_uuid=str(contact.uuid))
    media_file_pks = list(
        Chat.objects.filter(contact=contact, media_file__isnull=False).values_list("media_file_id", flat=True)
    )
    _, deleted = Contact.objects.filter(pk=contact.pk).delete()
    counts = {label.split(".")[-1]: count for label, count in deleted.items()}
    if outbox["dropped"] or outbox["redacted"]:
        counts["WebhookDelivery"] = outbox["dropped"] + outbox["redacted"]
    if media_file_pks:
        # The photos and documents the contact sent or received go too, unless another chat
        # (a forward to someone else) or a campaign still uses the same bytes. After the
        # commit: deleted bytes cannot come back if the erasure rolls back.
        transaction.on_commit(lambda: media_files_delete(media_file_pks=sorted(set(media_file_pks))))
    return counts


_UNCHANGED: Any = object()


def contact_update(
    *, contact: Contact, name: Any = _UNCHANGED, metadata: Any = _UNCHANGED, tags: Any = _UNCHANGED
) -> Contact:
    """Sets what is given: `name` (blank clears it), `metadata` and `tags` (each replaced as
    a whole, so a key or a tag can be removed). The phone number is the contact's identity
    and never changes."""
    changes = {}
    if name is not _UNCHANGED:
        changes["name"] = _contact_name_clean(name)
    if metadata is not _UNCHANGED:
        changes["metadata"], legacy_tags = _legacy_tags_split(_contact_metadata_clean(metadata))
        if legacy_tags is not None and tags is _UNCHANGED:
            changes["tags"] = legacy_tags
    if tags is not _UNCHANGED:
        changes["tags"] = contact_tags_clean(tags)
    # Assigned only once all of it is valid: a refusal leaves the caller's object as stored.
    for field, value in changes.items():
        setattr(contact, field, value)
    if changes:
        contact.save(update_fields=[*changes, "updated_at"])
    return contact


LID_JID = re.compile(r"[0-9]{1,40}@lid")
# A phone-number WhatsApp id, device suffix allowed (`447700900123:12@s.whatsapp.net`).
PHONE_JID = re.compile(r"([1-9][0-9]{4,19})(?::[0-9]+)?@(?:c\.us|s\.whatsapp\.net)")


def raw_whatsapp_id(value: Any) -> str | None:
    """`<digits>@c.us` for a phone-number WhatsApp id (or an E.164-looking string), whether
    or not the phone library accepts the number; None for anything else (a LID, a group)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = PHONE_JID.fullmatch(text)
    if match:
        return f"{match.group(1)}@c.us"
    if re.fullmatch(r"\+[1-9][0-9]{4,19}", text):
        return f"{text[1:]}@c.us"
    return None


@dataclass(frozen=True)
class SenderIdentity:
    """Who sent an inbound message: its phone (E.164) when WhatsApp told it, its LID when
    the chat is addressed by one, or both once the page knows the mapping. `raw_id` is the
    sender's `<digits>@c.us` when that is all there is: a number the phone library refuses
    (a range it does not know yet) is still a customer WhatsApp delivered."""

    phone: str | None
    lid: str | None
    raw_id: str | None = None


def inbound_sender_identity(message: dict[str, Any]) -> SenderIdentity | None:
    """Reads the sender from a bridge message event. The phone comes from the page (a
    `@c.us` id, or the LID-to-phone mapping wa-js keeps); a LID is never read as a phone.
    None when the message names no usable sender."""
    phone = None
    for candidate in (message.get("phone"), message.get("from")):
        if isinstance(candidate, str) and candidate:
            try:
                phone = normalize_phone(candidate)
                break
            except InvalidPhoneNumber:
                continue
    if phone is None and isinstance(message.get("from_jid"), str):
        try:
            phone = normalize_phone(message["from_jid"])
        except InvalidPhoneNumber:
            phone = None
    lid = message.get("lid")
    if not (isinstance(lid, str) and LID_JID.fullmatch(lid)):
        from_jid = message.get("from_jid")
        lid = from_jid if isinstance(from_jid, str) and LID_JID.fullmatch(from_jid) else None
    if phone is None and lid is None:
        for candidate in (message.get("from_jid"), message.get("from"), message.get("phone")):
            raw_id = raw_whatsapp_id(candidate)
            if raw_id is not None:
                return SenderIdentity(phone=None, lid=None, raw_id=raw_id)
        return None
    return SenderIdentity(phone=phone, lid=lid)


def _contact_merge(*, keep: Contact, gone: Contact) -> None:
    """Moves everything that points at `gone` (a contact known only by its LID) to `keep`
    (the same person, by phone), then deletes `gone`. Precondition: inside a transaction.
    Relations are found through the model's metadata, so apps above messaging (campaign
    recipients) follow without messaging importing them; a row that would duplicate one
    `keep` already has is dropped."""
    for link in ContactSession.objects.filter(contact=gone):
        mine = ContactSession.objects.filter(
            contact=keep, whatsapp_session_id=link.whatsapp_session_id
        ).first()
        if mine is None:
            ContactSession.objects.filter(pk=link.pk).update(contact=keep)
            continue
        inbound_times = [t for t in (mine.last_inbound_at, link.last_inbound_at) if t is not None]
        ContactSession.objects.filter(pk=mine.pk).update(
            first_interaction_at=min(mine.first_interaction_at, link.first_interaction_at),
            last_interaction_at=max(mine.last_interaction_at, link.last_interaction_at),
            last_inbound_at=max(inbound_times) if inbound_times else None,
            total_messages=mine.total_messages + link.total_messages,
            unread_count=mine.unread_count + link.unread_count,
            assignee_id=mine.assignee_id or link.assignee_id,
            # Still waiting on the team if either half was.
            status=link.status if mine.status == ContactSession.Status.RESOLVED else mine.status,
        )
        ConversationNote.objects.filter(conversation=link).update(conversation=mine)
        link.delete()
    for relation in Contact._meta.related_objects:
        if relation.related_model is ContactSession or not relation.field.concrete:
            continue
        manager = relation.related_model._base_manager
        for pk in manager.filter(**{relation.field.name: gone}).values_list("pk", flat=True):
            try:
                with transaction.atomic():
                    manager.filter(pk=pk).update(**{relation.field.name: keep})
            except IntegrityError:
                logger.info("merging contact %s into %s: dropped a duplicate %s", gone.pk, keep.pk, relation)
    gone.delete()


def contacts_for_senders(
    *, workspace: Workspace, senders: set[SenderIdentity]
) -> dict[SenderIdentity, Contact]:
    """The workspace's contact for each sender, created when new. A sender by phone alone
    (the common case) costs two queries for the whole batch; a sender with a LID also
    attaches the LID to its contact, or merges the LID-only contact made before the
    mapping was known. Precondition: inside a transaction."""
    phones = {s.phone for s in senders if s.phone}
    lids = {s.lid for s in senders if s.lid}
    Contact.objects.bulk_create(
        [Contact(workspace=workspace, phone=p) for p in phones], ignore_conflicts=True
    )
    Contact.objects.bulk_create(
        [Contact(workspace=workspace, wa_lid=s.lid) for s in senders if s.lid and not s.phone],
        ignore_conflicts=True,
    )
    raw_ids = {s.raw_id for s in senders if s.raw_id}
    if raw_ids:
        Contact.objects.bulk_create(
            [Contact(workspace=workspace, wa_id=raw_id) for raw_id in raw_ids], ignore_conflicts=True
        )
    by_phone = {c.phone_e164: c for c in Contact.objects.filter(workspace=workspace, phone__in=phones)}
    by_lid = {c.wa_lid: c for c in Contact.objects.filter(workspace=workspace, wa_lid__in=lids)}
    by_raw_id = {}
    if raw_ids:
        by_raw_id = {c.wa_id: c for c in Contact.objects.filter(workspace=workspace, wa_id__in=raw_ids)}
    found: dict[SenderIdentity, Contact] = {}
    for sender in senders:
        if sender.raw_id is not None:
            found[sender] = by_raw_id[sender.raw_id]
            continue
        if sender.phone is None:
            # Created above unless a contact already had this LID (with or without a phone).
            found[sender] = by_lid[sender.lid]
            continue
        contact = by_phone[sender.phone]
        if sender.lid is not None and contact.wa_lid != sender.lid:
            other = by_lid.get(sender.lid)
            if other is not None and other.pk != contact.pk:
                if other.phone is None:
                    _contact_merge(keep=contact, gone=other)
                else:
                    # WhatsApp moved this LID to another number: the old holder lets go.
                    Contact.objects.filter(pk=other.pk).update(wa_lid=None)
            Contact.objects.filter(pk=contact.pk).update(wa_lid=sender.lid)
            contact.wa_lid = sender.lid
            by_lid[sender.lid] = contact
        found[sender] = contact
    return found
