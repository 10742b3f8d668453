"""Contacts are added and edited through one pair of services, from the API
(`POST /api/v1/contacts`, `PATCH /api/v1/contacts/{uuid}`) and from the Contacts pages. The
phone number is a contact's key, so adding twice never makes two rows; a refusal stores
nothing; metadata set here is what campaign filters match on."""

import pytest

from accounts.models import Workspace
from campaigns.selectors import audience_contacts
from messaging.models import Contact
from messaging.services import CONTACT_METADATA_MAX_BYTES, InvalidContact, contact_create
from tests.concurrency import run_at_once
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def nested(depth: int) -> list:
    value: list = [1]
    for _ in range(depth):
        value = [value]
    return value


def stored(workspace) -> list[tuple]:
    return sorted((c.phone.as_e164, c.name, c.metadata) for c in Contact.objects.filter(workspace=workspace))


# --- API --------------------------------------------------------------------------------------


def test_it_adds_a_contact_in_e164(alice_api, workspace_a):
    response = alice_api.post(
        "/api/v1/contacts",
        {"phone": "+55 11 98765-0103", "name": "Ana", "metadata": {"city": "Recife"}},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["phone"], body["name"], body["metadata"]) == ("+5511987650103", "Ana", {"city": "Recife"})
    assert stored(workspace_a) == [("+5511987650103", "Ana", {"city": "Recife"})]


def test_adding_a_known_number_returns_that_contact_and_merges(alice_api, workspace_a):
    first = alice_api.post(
        "/api/v1/contacts", {"phone": "+5511987650103", "metadata": {"city": "Recife"}}, format="json"
    )

    again = alice_api.post(
        "/api/v1/contacts",
        {"phone": "5511987650103", "name": "Ana Lima", "metadata": {"tags": ["vip"]}},
        format="json",
    )

    assert again.status_code == 200, again.content
    assert again.json()["uuid"] == first.json()["uuid"]
    assert stored(workspace_a) == [("+5511987650103", "Ana Lima", {"city": "Recife"})]
    # The first release's `metadata.tags` is read as tags, never kept as metadata.
    assert again.json()["tags"] == ["vip"]


def test_tags_are_cleaned_added_on_create_and_replaced_on_patch(alice_api, workspace_a):
    created = alice_api.post(
        "/api/v1/contacts",
        {"phone": "+5511987650103", "tags": ["  VIP ", "Sao  Paulo", "vip"]},
        format="json",
    )
    merged = alice_api.post(
        "/api/v1/contacts", {"phone": "+5511987650103", "tags": ["wholesale"]}, format="json"
    )
    uuid = created.json()["uuid"]
    replaced = alice_api.patch(f"/api/v1/contacts/{uuid}", {"tags": ["retail"]}, format="json")
    refused = alice_api.patch(f"/api/v1/contacts/{uuid}", {"tags": ["x" * 51]}, format="json")

    assert created.json()["tags"] == ["vip", "sao paulo"]
    assert merged.json()["tags"] == ["vip", "sao paulo", "wholesale"]
    assert replaced.json()["tags"] == ["retail"]
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "tags"
    assert Contact.objects.get(uuid=uuid).tags == ["retail"]
    listed = alice_api.get("/api/v1/contacts", {"tag": "Retail"}).json()["results"]
    assert [c["uuid"] for c in listed] == [uuid]


def test_a_retry_without_a_name_keeps_the_name(alice_api, workspace_a):
    alice_api.post("/api/v1/contacts", {"phone": "+5511987650103", "name": "Ana"}, format="json")

    alice_api.post("/api/v1/contacts", {"phone": "+5511987650103"}, format="json")

    assert stored(workspace_a) == [("+5511987650103", "Ana", {})]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "+1 201 555 01"}, "phone"),
        ({"phone": "not a number"}, "phone"),
        ({"phone": 5511987650103}, "phone"),
        ({}, "phone"),
        ({"phone": "+5511987650103", "name": "x" * 201}, "name"),
        ({"phone": "+5511987650103", "metadata": ["vip"]}, "metadata"),
        ({"phone": "+5511987650103", "metadata": {f"k{i}": i for i in range(51)}}, "metadata"),
        ({"phone": "+5511987650103", "metadata": {"notes": "x" * CONTACT_METADATA_MAX_BYTES}}, "metadata"),
        ({"phone": "+5511987650103", "email": "ana@example.com"}, "email"),
    ],
)
def test_it_refuses_bad_contacts_and_stores_nothing(alice_api, workspace_a, body, field):
    response = alice_api.post("/api/v1/contacts", body, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in {error["field"], *(d["field"] for d in error.get("details", []))}, error
    assert error["message"]
    assert stored(workspace_a) == []


def test_a_merge_past_the_metadata_limit_changes_nothing(alice_api, workspace_a):
    half = "x" * (CONTACT_METADATA_MAX_BYTES // 2 + 10)
    alice_api.post("/api/v1/contacts", {"phone": "+5511987650103", "metadata": {"a": half}}, format="json")

    response = alice_api.post(
        "/api/v1/contacts", {"phone": "+5511987650103", "name": "Ana", "metadata": {"b": half}}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "metadata"
    assert stored(workspace_a) == [("+5511987650103", "", {"a": half})]


def test_patch_changes_only_what_is_given(alice_api, workspace_a):
    contact = ContactFactory(workspace=workspace_a, name="Ana", metadata={"city": "Recife"}, tags=["vip"])

    renamed = alice_api.patch(f"/api/v1/contacts/{contact.uuid}", {"name": "Ana Lima"}, format="json")
    replaced = alice_api.patch(
        f"/api/v1/contacts/{contact.uuid}", {"metadata": {"city": "Olinda"}}, format="json"
    )

    assert renamed.status_code == 200 and replaced.status_code == 200
    contact.refresh_from_db()
    assert (contact.name, contact.metadata, contact.tags) == ("Ana Lima", {"city": "Olinda"}, ["vip"])
    assert replaced.json()["metadata"] == {"city": "Olinda"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "+5511987650199"}, "phone"),
        ({"name": "x" * 201}, "name"),
        ({"metadata": "vip"}, "metadata"),
        ({"metadata": {"deep": nested(40)}}, None),
    ],
)
def test_patch_refuses_bad_input_and_changes_nothing(alice_api, workspace_a, body, field):
    contact = ContactFactory(workspace=workspace_a, name="Ana", metadata={"city": "Recife"})
    before = stored(workspace_a)

    response = alice_api.patch(f"/api/v1/contacts/{contact.uuid}", body, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    if field:
        assert field in {error["field"], *(d["field"] for d in error.get("details", []))}, error
    assert stored(workspace_a) == before


def test_tags_set_through_the_api_are_what_campaign_filters_match(alice_api, workspace_a):
    alice_api.post(
        "/api/v1/contacts", {"phone": "+5511987650103", "metadata": {"tags": ["vip", "sp"]}}, format="json"
    )
    alice_api.post("/api/v1/contacts", {"phone": "+5511987650104", "tags": ["SP"]}, format="json")
    alice_api.post(
        "/api/v1/contacts",
        {"phone": "+5511987650105", "tags": ["sp"], "metadata": {"city": "Recife"}},
        format="json",
    )

    def matched(metadata):
        contacts = audience_contacts(workspace=workspace_a, audience={"kind": "filter", "metadata": metadata})
        return sorted(c.phone.as_e164 for c in contacts)

    assert matched({"tags": ["vip"]}) == ["+5511987650103"]
    assert matched({"tags": ["sp"]}) == ["+5511987650103", "+5511987650104", "+5511987650105"]
    assert matched({"tags": ["sp"], "city": "Recife"}) == ["+5511987650105"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_one_number_make_one_contact(workspace_a):
    workspace = Workspace.objects.get(pk=workspace_a.pk)

    outcomes = run_at_once(
        lambda: contact_create(workspace=workspace, phone="+5511987650103", name="Ana")[1], times=4
    )

    assert sorted(outcomes) == [False, False, False, True]
    assert Contact.objects.filter(workspace=workspace_a).count() == 1


def test_the_service_names_the_field_at_fault(workspace_a):
    with pytest.raises(InvalidContact) as refused:
        contact_create(workspace=workspace_a, phone="+5511987650103", metadata={"bad": "\x00"})

    assert refused.value.field == "metadata"
    assert stored(workspace_a) == []


# --- Contacts pages ---------------------------------------------------------------------------


def test_a_member_adds_a_contact_from_the_contacts_page(carol_client, workspace_a):
    response = carol_client.post("/contacts/", {"phone": "+55 11 98765-0103", "name": "Ana"})

    contact = Contact.objects.get(workspace=workspace_a)
    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{contact.uuid}/"
    assert stored(workspace_a) == [("+5511987650103", "Ana", {})]


def test_the_contacts_page_shows_a_bad_number_and_stores_nothing(alice_client, workspace_a):
    response = alice_client.post("/contacts/", {"phone": "12345", "name": "Ana"})

    assert response.status_code == 400
    assert b"not a valid phone number" in response.content or b"is not a phone number" in response.content
    assert stored(workspace_a) == []


def edit_form(name="Ana", tags="", rows=()):
    """The contact page's form as a browser posts it: key/value rows as repeated fields."""
    return {
        "name": name,
        "tags": tags,
        "meta_key": [key for key, _, _ in rows],
        "meta_value": [value for _, value, _ in rows],
        "meta_kind": [kind for _, _, kind in rows],
    }


def test_a_member_edits_name_tags_and_details(carol_client, workspace_a):
    contact = ContactFactory(workspace=workspace_a, name="Ana", metadata={"city": "Recife", "visits": 3})
    page = carol_client.get(f"/contacts/{contact.uuid}/").content.decode()
    assert 'name="meta_key" value="visits"' in page and 'name="meta_value" value="3"' in page

    response = carol_client.post(
        f"/contacts/{contact.uuid}/",
        edit_form(
            name="Ana Lima",
            tags="VIP, wholesale",
            rows=[("city", "", "text"), ("visits", "4", "json"), ("plan", "gold", "text"), ("", "", "text")],
        ),
    )

    assert response.status_code == 302
    contact.refresh_from_db()
    # A cleared value is kept as an empty text; a cleared key removes it; JSON stays JSON.
    assert (contact.name, contact.tags) == ("Ana Lima", ["vip", "wholesale"])
    assert contact.metadata == {"city": "", "visits": 4, "plan": "gold"}


@pytest.mark.parametrize(
    ("rows", "tags", "shown"),
    [
        ([("", "orphan value", "text")], "", b"has no key"),
        ([("city", "a", "text"), ("city", "b", "text")], "", b"appears twice"),
        ([("visits", "[1,", "json")], "", b"no longer valid JSON"),
        ([("bad", "\x00", "text")], "", b"NUL"),
        # So deep the JSON decoder itself gives up: a form error, not a 500.
        ([("a", "[" * 100_000 + "]" * 100_000, "json")], "", b"no longer valid JSON"),
        ([], "x" * 60, b"the limit is 50"),
    ],
)
def test_the_contact_page_refuses_bad_details_and_changes_nothing(
    alice_client, workspace_a, rows, tags, shown
):
    contact = ContactFactory(workspace=workspace_a, name="Ana", metadata={"city": "Recife"})

    response = alice_client.post(
        f"/contacts/{contact.uuid}/", edit_form(name="Renamed", tags=tags, rows=rows)
    )

    assert response.status_code == 400
    assert shown in response.content
    contact.refresh_from_db()
    assert (contact.name, contact.metadata) == ("Ana", {"city": "Recife"})
