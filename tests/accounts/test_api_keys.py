import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def api_client(key: str | None) -> APIClient:
    client = APIClient()
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_it_stores_only_the_hash_of_a_key(workspace_a, alice):
    api_key, full_key = api_key_create(workspace=workspace_a, name="crm", created_by=alice)
    secret_part = full_key.split(".", 1)[1]
    assert full_key.startswith(api_key.prefix + ".")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apikey WHERE uuid = %s", [api_key.uuid])
        stored = " ".join(str(value) for value in cursor.fetchone())
    assert secret_part not in stored
    assert full_key not in stored


def test_it_authenticates_a_key_to_its_own_workspace(workspace_a, workspace_b, alice):
    _, full_key = api_key_create(workspace=workspace_a, name="crm", created_by=alice)
    response = api_client(full_key).get("/api/v1/workspace")
    assert response.status_code == 200
    assert response.json()["uuid"] == str(workspace_a.uuid)
    assert ApiKey.objects.get(workspace=workspace_a).last_used_at is not None


def test_it_refuses_a_revoked_key(workspace_a, alice):
    api_key, full_key = api_key_create(workspace=workspace_a, name="crm", created_by=alice)
    api_key_revoke(api_key=api_key)
    response = api_client(full_key).get("/api/v1/workspace")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    api_key.refresh_from_db()
    assert api_key.revoked and api_key.revoked_at is not None


@pytest.mark.parametrize("header", [None, "garbage", "Api-Key nope.nope", "Api-Key \x00", "Bearer abc"])
def test_it_refuses_missing_or_forged_keys(workspace_a, alice, header):
    api_key, _ = api_key_create(workspace=workspace_a, name="crm", created_by=alice)
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/v1/workspace").status_code in (401, 403)
    # The right prefix with a wrong secret is refused too.
    forged = api_client(f"{api_key.prefix}.{'x' * 32}").get("/api/v1/workspace")
    assert forged.status_code == 401


def test_it_shows_a_new_key_once_and_lists_only_its_prefix(alice_client, workspace_a):
    created = alice_client.post("/api-keys/", {"name": "zapier"})
    # Redirect after the POST: reloading the page that shows the key makes no second key.
    assert created.status_code == 302 and created.url == "/api-keys/"
    shown = alice_client.get("/api-keys/")
    full_key = shown.context["new_key"]
    assert full_key and full_key.encode() in shown.content
    listing = alice_client.get("/api-keys/")
    assert full_key.encode() not in listing.content
    assert ApiKey.objects.filter(workspace=workspace_a).count() == 1
    assert ApiKey.objects.get(workspace=workspace_a).prefix.encode() in listing.content


def test_it_revokes_a_key_from_the_ui(alice_client, workspace_a, alice):
    api_key, full_key = api_key_create(workspace=workspace_a, name="crm", created_by=alice)
    response = alice_client.post(f"/api-keys/{api_key.uuid}/revoke/")
    assert response.status_code == 302
    assert api_client(full_key).get("/api/v1/workspace").status_code == 401


def test_the_login_form_asks_for_an_email(client):
    page = client.get("/login/").content.decode()
    assert '<label for="id_username">Email:</label>' in page
    assert "Username" not in page
