"""Contacts from a CSV file, in the background (issue 19). The upload is parsed at once (a
header row with a `phone` column; `name`, `tags` (comma-separated) and any other column, which
becomes a metadata key),
so a malformed file is refused in the request; its rows then wait on a ContactImport row.
`contact_import_step` takes the next batch of BLAZZ_CONTACT_IMPORT_BATCH rows under the row's
lock and, in the same transaction, creates the new contacts (ON CONFLICT DO NOTHING, within
the contacts quota) and moves the counters, so a batch is done once or not at all; two runs
of one import (a redelivered message, the sweep's wake-up) each take the next batch. Rows are
deduplicated by phone: a number seen on an earlier line, or already a contact, is counted and
left as it is."""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from accounts import quotas
from accounts.models import Workspace
from blazz.celery import app as celery_app
from blazz.phones import InvalidPhoneNumber, normalize_phone
from blazz.realtime import publish_to_workspace
from messaging.models import Contact, ContactImport
from messaging.services.common import InvalidContact
from messaging.services.contacts import CONTACT_NAME_MAX_CHARS, contact_tags_clean, contacts_count

logger = logging.getLogger(__name__)

RUN_TASK = "messaging.tasks.contact_import_run"
ERROR_EXAMPLES = 100
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
MAX_METADATA_COLUMNS = 20
Status = ContactImport.Status


class ContactImportRefused(InvalidContact):
    """The file cannot be imported at all (nothing was stored)."""


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):  # Excel writes either
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ContactImportRefused("The file is not text (UTF-8 or Windows-1252).", field="file")


def _cell(cells: list[str], at: int | None) -> str:
    return cells[at].strip() if at is not None and at < len(cells) else ""


def contact_rows_parse(data: bytes) -> list[list[Any]]:
    """[line, phone, name, metadata] per data row. Refuses a file that is too big, is not CSV,
    or has no `phone` column, saying which."""
    if len(data) > MAX_FILE_BYTES:
        raise ContactImportRefused(
            f"The file is over {MAX_FILE_BYTES // 1024 // 1024} MB; split it.", field="file"
        )
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise ContactImportRefused("The file is empty.", field="file") from None
    if "phone" not in header:
        raise ContactImportRefused(
            "The first line must name the columns, one of them `phone` (and `name`; other columns "
            "become contact details).",
            field="file",
        )
    extra = [(i, h) for i, h in enumerate(header) if h and h not in ("phone", "name")][:MAX_METADATA_COLUMNS]
    phone_at, name_at = header.index("phone"), header.index("name") if "name" in header else None
    rows: list[list[Any]] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise ContactImportRefused(
                    f"The file has over {MAX_ROWS:,} contacts; split it.", field="file"
                )
            if any("\x00" in cell for cell in cells):
                # PostgreSQL text cannot hold NUL, and a CSV holding one is binary or UTF-16.
                raise ContactImportRefused(
                    f"Line {reader.line_num} contains a NUL character: save the file as UTF-8 CSV.",
                    field="file",
                )
            metadata = {key: _cell(cells, i) for i, key in extra if _cell(cells, i)}
            rows.append([reader.line_num, _cell(cells, phone_at), _cell(cells, name_at), metadata])
    except csv.Error as exc:
        raise ContactImportRefused(f"Line {reader.line_num} is not valid CSV: {exc}.", field="file") from None
    if not rows:
        raise ContactImportRefused("The file has a header but no contacts.", field="file")
    return rows


def contact_import_create(
    *, workspace: Workspace, data: bytes, filename: str = "", created_by: AbstractBaseUser | None = None
) -> ContactImport:
    rows = contact_rows_parse(data)
    with transaction.atomic():
        job = ContactImport.objects.create(
            workspace=workspace, created_by=created_by, filename=filename[:200], rows=rows, total=len(rows)
        )
        contact_import_enqueue(import_pk=job.pk)
    return job


def contact_import_enqueue(*, import_pk: int) -> None:
    """After commit, wakes a worker (the task is looked up by name: services never import
    the task layer). The row, not this message, is the record of the work."""
    transaction.on_commit(lambda: celery_app.send_task(RUN_TASK, kwargs={"import_pk": import_pk}))


def _row_problem(phone: str, name: str, region: str | None) -> tuple[str | None, str | None]:
    """(E.164, None) or (None, why the row is refused)."""
    if not phone:
        return None, "No phone number."
    if len(name) > CONTACT_NAME_MAX_CHARS or "\x00" in name:
        return None, f"The name is over {CONTACT_NAME_MAX_CHARS} characters."
    try:
        return normalize_phone(phone, region=region), None
    except InvalidPhoneNumber as exc:
        return None, str(exc)


@transaction.atomic
def contact_import_step(*, import_pk: int) -> bool:
    """Imports the next batch; True while rows remain."""
    job = ContactImport.objects.select_for_update().filter(pk=import_pk).first()
    if job is None or job.status == Status.COMPLETED:
        return False
    batch = job.rows[job.processed : job.processed + settings.BLAZZ_CONTACT_IMPORT_BATCH]
    errors: list[dict[str, Any]] = []
    wanted: dict[str, list[Any]] = {}
    for line, phone, name, metadata in batch:
        e164, problem = _row_problem(str(phone), str(name), job.workspace.phone_region)
        metadata = dict(metadata)
        try:
            tags = contact_tags_clean(str(metadata.pop("tags", "")).replace(";", ","))
        except InvalidContact as refused:
            e164, problem = None, str(refused)
        if problem:
            errors.append({"line": line, "phone": str(phone)[:64], "error": problem[:200]})
        elif e164 in wanted:
            job.existing_count += 1  # the same number earlier in this batch (earlier batches: below)
        else:
            wanted[e164] = [name, metadata, tags]
    existing = {
        p.as_e164
        for p in Contact.objects.filter(workspace=job.workspace, phone__in=list(wanted)).values_list(
            "phone", flat=True
        )
    }
    missing = [p for p in wanted if p not in existing]
    limit = quotas.quota_limit(quotas.CONTACTS)
    if missing and limit is not None:
        quotas.quota_lock(quota=quotas.CONTACTS, workspace_id=job.workspace_id)
        room = max(0, limit - contacts_count(workspace=job.workspace))
        over = missing[room:]
        missing = missing[:room]
        errors += [
            {"line": None, "phone": p, "error": "The workspace's contacts limit is reached."} for p in over
        ]
    job.created_count += _contacts_insert(
        workspace_id=job.workspace_id, rows=[(p, *wanted[p]) for p in missing]
    )
    job.existing_count += len(existing)
    job.error_count += len(errors)
    job.errors = (job.errors + errors)[:ERROR_EXAMPLES]
    job.processed += len(batch)
    done = job.processed >= job.total
    job.status = Status.COMPLETED if done else Status.RUNNING
    fields = ["created_count", "existing_count", "error_count", "errors", "processed", "status", "updated_at"]
    if done:
        job.rows, job.completed_at = [], timezone.now()
        fields += ["rows", "completed_at"]
    # The rows (up to 100,000) are written back only when emptied, not with every batch.
    job.save(update_fields=fields)
    publish_to_workspace(
        workspace_uuid=job.workspace.uuid, event="contacts.import", payload=contact_import_payload(job)
    )
    return not done


def _contacts_insert(*, workspace_id: int, rows: list[tuple[str, str, dict, list[str]]]) -> int:
    """Inserts (phone, name, metadata, tags) contacts, skipping a phone that appeared meanwhile (an
    inbound message); returns how many were really inserted."""
    if not rows:
        return 0
    table = Contact._meta.db_table
    values = ", ".join(["(gen_random_uuid(), %s, %s, %s, '', %s::jsonb, %s, now(), now())"] * len(rows))
    params: list[Any] = []
    for phone, name, metadata, tags in rows:
        params += [workspace_id, phone, name, json.dumps(metadata), tags]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table}
                (uuid, workspace_id, phone, name, profile_name, metadata, tags, created_at, updated_at)
            VALUES {values}
            ON CONFLICT DO NOTHING
            RETURNING id
            """,  # noqa: S608 — table name from the model, placeholders only  # nosec B608
            params,
        )
        return len(cursor.fetchall())


def contact_import_run(*, import_pk: int, max_batches: int | None = None) -> int:
    """Advances the import until it is done (or `max_batches` were imported)."""
    done = 0
    while max_batches is None or done < max_batches:
        more = contact_import_step(import_pk=import_pk)
        done += 1
        if not more:
            break
    return done


def contact_imports_sweep(*, now=None) -> list[int]:
    """Beat: wakes every unfinished import nobody advanced for BLAZZ_CONTACT_IMPORT_STALE_SECONDS."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.BLAZZ_CONTACT_IMPORT_STALE_SECONDS)
    stale = list(
        ContactImport.objects.filter(status__in=(Status.PENDING, Status.RUNNING), updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:100]
    )
    for pk in stale:
        celery_app.send_task(RUN_TASK, kwargs={"import_pk": pk})
        logger.info("contact import %s was not advancing; woken again", pk)
    return stale


def contact_import_payload(job: ContactImport) -> dict[str, Any]:
    return {
        "uuid": str(job.uuid),
        "status": job.status,
        "total": job.total,
        "processed": job.processed,
        "created": job.created_count,
        "existing": job.existing_count,
        "errors": job.error_count,
    }
