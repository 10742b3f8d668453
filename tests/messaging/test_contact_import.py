"""Contacts from a CSV file in the background (issue 19): 1,000 contacts with 3 bad rows are
imported with the bad rows reported by line, numbers already known are left as they are, a
second run of the same import changes nothing, a lost wake-up is recovered by Beat's sweep,
and a file that cannot be imported is refused in the request with the reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from messaging import services
from messaging.models import Contact, ContactImport
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def csv_of(rows: list[str], header: str = "phone,name,city") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def thousand_with_three_bad_rows() -> bytes:
    rows = [f"+55 21 9{n:04d}-{n:04d},Customer {n},Rio" for n in range(1, 998)]
    rows[9] = "not a phone,Bad One,Rio"  # line 11
    rows[499] = ",No Phone,Rio"  # line 501
    rows[899] = f"+5521900000001,{'x' * 201},Rio"  # line 901: the name is too long
    rows += ["+55 21 90001-0001,Again,Rio", "+55 21 90002-0002,Repeat,Rio", "+5521999990000,Last,Niterói"]
    return csv_of(rows)


def test_a_tags_column_becomes_tags_and_a_bad_tag_is_a_row_error(workspace_a):
    data = csv_of(
        [
            '+5521900010001,Ana,"VIP, Wholesale",Rio',
            "+5521900010002,Bia,retail;sp,",
            f"+5521900010003,Cy,{'t' * 51},",
        ],
        header="phone,name,tags,city",
    )
    job = services.contact_import_create(workspace=workspace_a, data=data)

    services.contact_import_run(import_pk=job.pk)

    job.refresh_from_db()
    stored = {c.name: (c.tags, c.metadata) for c in Contact.objects.filter(workspace=workspace_a)}
    assert stored == {"Ana": (["vip", "wholesale"], {"city": "Rio"}), "Bia": (["retail", "sp"], {})}
    assert [(e["line"], "limit is 50" in e["error"]) for e in job.errors] == [(4, True)]


def test_a_thousand_contacts_with_three_bad_rows(
    workspace_a, alice, settings, django_capture_on_commit_callbacks
):
    settings.BLAZZ_CONTACT_IMPORT_BATCH = 300
    known = ContactFactory(workspace=workspace_a, phone="+5521999990000", name="Known", metadata={})
    with django_capture_on_commit_callbacks(execute=False) as wake_ups:
        job = services.contact_import_create(
            workspace=workspace_a, data=thousand_with_three_bad_rows(), filename="list.csv", created_by=alice
        )
    assert (job.status, job.total, job.processed) == ("pending", 1000, 0)
    assert len(wake_ups) == 1  # the Celery message is only a wake-up; the row is the work

    assert services.contact_import_run(import_pk=job.pk) == 4  # 300 + 300 + 300 + 100
    job.refresh_from_db()
    assert (job.status, job.processed, job.error_count) == ("completed", 1000, 3)
    assert sorted(e["line"] for e in job.errors) == [11, 501, 901]
    # 997 good rows: 994 new numbers, 2 repeats of earlier lines and 1 known contact.
    assert (job.created_count, job.existing_count) == (994, 3)
    assert job.rows == []
    assert Contact.objects.filter(workspace=workspace_a).count() == 995
    known.refresh_from_db()
    assert (known.name, known.metadata) == ("Known", {})  # never changed silently
    ana = Contact.objects.get(workspace=workspace_a, phone="+5521900010001")
    assert (ana.name, ana.metadata) == ("Customer 1", {"city": "Rio"})

    assert services.contact_import_run(import_pk=job.pk) == 1  # a late second run does nothing
    assert Contact.objects.filter(workspace=workspace_a).count() == 995


def test_a_lost_wake_up_is_recovered_by_the_sweep(workspace_a, settings, monkeypatch):
    settings.BLAZZ_CONTACT_IMPORT_BATCH = 2
    job = services.contact_import_create(
        workspace=workspace_a, data=csv_of(["+5521977770001,A,", "+5521977770002,B,", "+5521977770003,C,"])
    )
    services.contact_import_step(import_pk=job.pk)  # a worker took one batch, then died
    sent = []
    monkeypatch.setattr(
        "messaging.services.contact_imports.celery_app.send_task", lambda name, kwargs: sent.append(kwargs)
    )
    assert services.contact_imports_sweep() == []  # advanced a moment ago: left alone
    ContactImport.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert services.contact_imports_sweep() == [job.pk] and sent == [{"import_pk": job.pk}]
    services.contact_import_run(import_pk=job.pk)
    assert Contact.objects.filter(workspace=workspace_a).count() == 3


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"name,city\nAna,Rio\n", "`phone`"),
        (b"phone,name\n", "no contacts"),
        (b"\xff\xfe\x00\x00garbage\x00", "header"),
        (b"phone\n" + b"+5521977770001\n" * 100_001, "over 100,000"),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_with_the_reason(workspace_a, data, why):
    with pytest.raises(services.ContactImportRefused) as refused:
        services.contact_import_create(workspace=workspace_a, data=data)
    assert why in str(refused.value) or why == "header"
    assert not ContactImport.objects.exists()


def test_the_contacts_page_uploads_a_file_and_shows_the_import(alice_client, workspace_a):
    upload = SimpleUploadedFile(
        "team.csv", csv_of(["+5521977770001;Ana;Rio"], header="phone;name;city"), "text/csv"
    )
    answer = alice_client.post("/contacts/import/", {"file": upload})
    job = ContactImport.objects.get(workspace=workspace_a)
    assert answer.status_code == 302 and answer.url == f"/contacts/imports/{job.uuid}/"
    page = alice_client.get(answer.url).content.decode()
    assert "0 of 1 rows" in page
    services.contact_import_run(import_pk=job.pk)
    assert "1 new contact" in alice_client.get(answer.url).content.decode()

    bad = alice_client.post(
        "/contacts/import/", {"file": SimpleUploadedFile("x.csv", b"name\nAna\n")}, follow=True
    )
    assert "`phone`" in bad.content.decode()
