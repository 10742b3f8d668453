"""A default country per workspace (issue 19: a number typed without "+" was refused): owners
and admins set it with the name and time zone, and every place a person types a number reads
national numbers as that country's."""

import pytest

from messaging import services as messaging
from messaging.models import Contact
from messaging.selectors import contact_by_address
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_a_manager_sets_the_default_country(alice_client, carol_client, workspace_a):
    answer = alice_client.post(
        "/workspace/settings/",
        {"name": "Acme Brasil", "timezone": "America/Sao_Paulo", "default_country": "BR"},
    )
    assert answer.status_code == 302
    workspace_a.refresh_from_db()
    assert (workspace_a.name, workspace_a.timezone, workspace_a.default_country) == (
        "Acme Brasil",
        "America/Sao_Paulo",
        "BR",
    )
    assert (
        alice_client.post(
            "/workspace/settings/", {"name": "x", "timezone": "UTC", "default_country": "ZZ"}
        ).status_code
        == 200
    )
    assert carol_client.get("/workspace/settings/").status_code == 403


def test_numbers_without_a_country_code_follow_the_default_country(workspace_a):
    with pytest.raises(messaging.InvalidContact):
        messaging.contact_create(workspace=workspace_a, phone="(21) 97777-0001")  # no default: refused
    workspace_a.default_country = "BR"
    workspace_a.save()
    contact, created = messaging.contact_create(workspace=workspace_a, phone="(21) 97777-0001")
    assert created and contact.phone_e164 == "+5521977770001"
    assert contact_by_address(workspace=workspace_a, address="21 97777-0001") == contact
    # A number with its country code is read as given, whatever the default.
    other, _ = messaging.contact_create(workspace=workspace_a, phone="+1 201 555 0123")
    assert other.phone_e164 == "+12015550123"


def test_the_contacts_page_adds_a_national_number(alice_client, workspace_a):
    workspace_a.default_country = "BR"
    workspace_a.save()
    ContactFactory(workspace=workspace_a, phone="+5521977770002", name="Bia")
    alice_client.post("/contacts/", {"phone": "21977770001", "name": "Ana"})
    assert Contact.objects.filter(workspace=workspace_a, phone="+5521977770001", name="Ana").exists()
