"""Who a campaign sends to: an audience's stored form, the recipients quota, and the check
that every recipient can get the message. Apart from the lifecycle because both a draft's
edits and its start apply these rules."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings

from accounts import quotas
from accounts.models import Workspace
from accounts.tenancy import scoped
from blazz.phones import InvalidPhoneNumber, normalize_phone
from blazz.templating import variables_in
from campaigns import selectors
from campaigns.errors import CampaignInvalid, CampaignQuotaExceeded, RecipientsImporting
from campaigns.models import Campaign, RecipientImport
from messaging.models import Contact
from messaging.services import InvalidContact, contact_tags_clean, contacts_count, contacts_ensure

# Recipients of a list audience given in one request.
MAX_LIST_SIZE = 100_000


def _recipients_quota_check(count: int) -> None:
    quotas.quota_check(
        quota=quotas.CAMPAIGN_RECIPIENTS, used=0, adding=count, error=CampaignQuotaExceeded, field="audience"
    )


def audience_clean(*, workspace: Workspace, audience: Any) -> tuple[dict[str, Any], list[Any]]:
    """Validates an audience and returns (its stored form, phones left to import):
    - `{"kind": "all"}`: every contact of the workspace;
    - `{"kind": "list", "contacts": [uuid, ...], "phones": ["+55…", ...]}`: the named contacts;
      phones are stored as contacts (created if new) and kept as their uuids. A list of more
      than BLAZZ_RECIPIENT_IMPORT_SYNC_MAX phones is not imported here: they are returned for
      a background import (campaigns/recipient_imports.py);
    - `{"kind": "filter", "metadata": {...}}`: contacts whose metadata contains this JSON;
      its `"tags"` list names tags the contact must all have (`{"tags": ["vip"]}`).
    A list longer than the recipients quota is refused (CampaignQuotaExceeded)."""
    if audience in (None, {}):
        return {"kind": "all"}, []
    if not isinstance(audience, dict):
        raise CampaignInvalid('The audience must be an object such as {"kind": "all"}.', field="audience")
    kind = audience.get("kind", "all")
    if kind == "all":
        return {"kind": "all"}, []
    if kind == "filter":
        metadata = audience.get("metadata")
        if not isinstance(metadata, dict) or not metadata:
            raise CampaignInvalid(
                'A filter audience needs metadata to match, e.g. {"tags": ["vip"]}.', field="audience"
            )
        if "tags" in metadata:
            try:
                metadata = {**metadata, "tags": contact_tags_clean(metadata["tags"])}
            except InvalidContact as refused:
                raise CampaignInvalid(f"Audience: {refused}", field="audience") from None
        return {"kind": "filter", "metadata": metadata}, []
    if kind != "list":
        raise CampaignInvalid(f"Unknown audience kind {kind!r}: use all, list or filter.", field="audience")
    uuids = audience.get("contacts") or []
    phones = audience.get("phones") or []
    if not isinstance(uuids, list) or not isinstance(phones, list):
        raise CampaignInvalid(
            "A list audience takes `contacts` (uuids) and/or `phones` (lists).", field="audience"
        )
    if not uuids and not phones:
        raise CampaignInvalid("A list audience needs at least one contact or phone number.", field="audience")
    if len(uuids) + len(phones) > MAX_LIST_SIZE:
        raise CampaignInvalid(f"A list audience holds at most {MAX_LIST_SIZE} recipients.", field="audience")
    _recipients_quota_check(len(uuids) + len(phones))
    wanted: list[str] = []
    for raw in uuids:
        try:
            wanted.append(str(UUID(str(raw))))
        except ValueError as exc:
            raise CampaignInvalid(f"{raw!r} is not a contact uuid.", field="audience") from exc
    known = {
        str(u) for u in scoped(Contact, workspace).filter(uuid__in=wanted).values_list("uuid", flat=True)
    }
    unknown = [u for u in wanted if u not in known]
    if unknown:
        raise CampaignInvalid(
            f"{len(unknown)} contact(s) are not in this workspace, e.g. {unknown[0]}.", field="audience"
        )
    if len(phones) > settings.BLAZZ_RECIPIENT_IMPORT_SYNC_MAX:
        return {"kind": "list", "contacts": list(dict.fromkeys(wanted))}, phones
    normalised = []
    for phone in phones:
        try:
            normalised.append(normalize_phone(str(phone), region=workspace.phone_region))
        except InvalidPhoneNumber as exc:
            raise CampaignInvalid(f"{phone!r}: {exc}", field="audience") from exc
    before = contacts_count(workspace=workspace)
    ensured = contacts_ensure(workspace=workspace, phones=normalised)
    if ensured.over_quota:
        # The caller's transaction rolls back the contacts made before the quota was hit.
        new = contacts_count(workspace=workspace) - before + len(ensured.over_quota)
        raise CampaignQuotaExceeded(
            quota=quotas.CONTACTS,
            limit=quotas.quota_limit(quotas.CONTACTS) or 0,
            used=before,
            adding=new,
            field="audience",
        )
    wanted.extend(ensured.uuids)
    return {"kind": "list", "contacts": list(dict.fromkeys(wanted))}, []


def campaign_check_recipients(*, campaign: Campaign) -> int:
    """Refuses a campaign that would send a broken message: an empty audience, or a variable
    some recipient has no value for (and no fallback). Returns the number of recipients."""
    job = recipients_import_pending(campaign=campaign)
    if job is not None:
        raise RecipientsImporting(
            f"The recipient list is still being imported ({job.processed:,} of {job.total:,} phones); "
            "start the campaign when the import completes."
        )
    contacts = selectors.audience_contacts(workspace=campaign.workspace, audience=campaign.audience)
    total = contacts.count()
    if not total:
        raise CampaignInvalid("The audience has no contacts.", field="audience")
    _recipients_quota_check(total)
    problems = []
    for variable in variables_in(campaign.body):
        if variable.fallback is not None or variable.key == "phone":
            continue
        if variable.key == "name":
            lacking = contacts.filter(name="")
        else:
            lacking = contacts.exclude(metadata__has_key=variable.key)
        missing = lacking.count()
        if missing:
            example = lacking.order_by("id").values_list("phone", flat=True).first()
            problems.append(
                f"{{{{{variable.key}}}}} has no value for {missing} of {total} recipients (e.g. {example}); "
                f"fill it in or give a fallback: {{{{{variable.key}|…}}}}"
            )
    if problems:
        raise CampaignInvalid(" ".join(problems), field="body")
    return total


def recipients_import_pending(*, campaign: Campaign) -> RecipientImport | None:
    """The unfinished import the campaign's audience waits for, if any."""
    import_uuid = (campaign.audience or {}).get("import")
    if not import_uuid:
        return None
    return RecipientImport.objects.filter(campaign=campaign, uuid=import_uuid).first()
