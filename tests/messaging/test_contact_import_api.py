"""Contact CSV imports through the API (issue 19): the same background import as the Contacts
page, accepted with 202, refused at once with the reason when the file cannot be imported,
its progress and per-row errors readable, another workspace's import invisible."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging import services
from messaging.models import Contact, ContactImport

pytestmark = pytest.mark.django_db


def upload(client, content: bytes, name: str = "customers.csv"):
    return client.post(
        "/api/v1/contacts/imports",
        {"file": SimpleUploadedFile(name, content, "text/csv")},
        format="multipart",
    )


def test_it_imports_in_the_background_and_reports_rows_it_refused(alice_api, workspace_a):
    accepted = upload(
        alice_api, b"phone,name,tags\n+5521900010001,Ana,vip\nnot a phone,Bad,\n+5521900010001,Again,\n"
    )

    assert accepted.status_code == 202, accepted.content
    body = accepted.json()
    assert (body["status"], body["total"], body["processed"]) == ("pending", 3, 0)
    services.contact_import_run(
        import_pk=ContactImport.objects.get(uuid=body["uuid"]).pk
    )  # the worker's part

    done = alice_api.get(f"/api/v1/contacts/imports/{body['uuid']}").json()
    assert (done["status"], done["created"], done["existing"], done["error_count"]) == ("completed", 1, 1, 1)
    assert [(e["line"], e["phone"]) for e in done["errors"]] == [(3, "not a phone")]
    assert list(Contact.objects.filter(workspace=workspace_a).values_list("name", "tags")) == [
        ("Ana", ["vip"])
    ]
    assert [i["uuid"] for i in alice_api.get("/api/v1/contacts/imports").json()["results"]] == [body["uuid"]]


@pytest.mark.parametrize(
    ("content", "shown"),
    [(b"name,city\nAna,Rio\n", "one of them `phone`"), (b"", "empty"), (b"\xff\xfe\x00garbage", "")],
)
def test_a_file_that_cannot_be_imported_is_refused_with_the_reason(alice_api, workspace_a, content, shown):
    refused = upload(alice_api, content)

    assert refused.status_code == 400, refused.content
    assert refused.json()["error"]["field"] == "file" and shown in refused.json()["error"]["message"]
    assert not ContactImport.objects.exists()


def test_hostile_uploads_get_clear_answers_and_store_nothing(alice_api, workspace_a):
    no_file = alice_api.post("/api/v1/contacts/imports", {}, format="multipart")
    as_json = alice_api.post("/api/v1/contacts/imports", {"file": "phone\n+5521900010001"}, format="json")
    nul_cells = upload(alice_api, b"phone,name\n+5521900010001,A\x00na\n", name="a\x00b.csv")

    assert no_file.status_code == 400 and "file" in str(no_file.json())
    assert as_json.status_code == 415
    assert nul_cells.status_code == 400 and "Line 2 contains a NUL" in nul_cells.json()["error"]["message"]
    assert not ContactImport.objects.exists() and not Contact.objects.exists()


def test_another_workspaces_import_is_not_found(alice_api, workspace_b):
    theirs = services.contact_import_create(workspace=workspace_b, data=b"phone\n+5521900010001\n")

    assert alice_api.get(f"/api/v1/contacts/imports/{theirs.uuid}").status_code == 404
    assert alice_api.get("/api/v1/contacts/imports").json()["results"] == []
